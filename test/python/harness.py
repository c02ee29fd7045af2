"""Test-side host: spawns the real worker with pipes on fds 3 and 4 and speaks the protocol.

Host-side codecs are the worker's own (pyvisor_worker.protocol); their bytes are pinned
independently by test_vectors.py against the TypeScript side. Also the pieces the in-process tests
share: RecordingWriter, HandlersTest and InvokerTest.
"""
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON_DIR = os.path.join(ROOT, "python")
FIXTURES = os.path.join(ROOT, "test", "fixtures")
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)

from pyvisor_worker import Context  # noqa: E402
from pyvisor_worker.host_calls import HostCalls  # noqa: E402
from pyvisor_worker.invoke import Invoker  # noqa: E402
from pyvisor_worker.link import Link  # noqa: E402
from pyvisor_worker.protocol import JsonCodec, UnserializableError, available_codecs, load_msgpack  # noqa: E402
from pyvisor_worker.registry import REGISTRY  # noqa: E402

HAS_MSGPACK = load_msgpack() is not None
CODECS = {c.name: c for c in available_codecs()}
# What the worker offers under the environment this suite runs in (run.sh may force JSON).
OFFERED = [c.name for c in available_codecs(os.environ.get("PYVISOR_CODECS"))]
DEFAULT_IMPORTS = ("basic", "py_extra")
TIMEOUT = 5.0


def _child_fds(read_fd, write_fd):
    def setup():
        a = fcntl.fcntl(read_fd, fcntl.F_DUPFD, 10)
        b = fcntl.fcntl(write_fd, fcntl.F_DUPFD, 10)
        os.dup2(a, 3)
        os.dup2(b, 4)
    return setup


def call_message(call_id, name, args=None, **extra):
    """A `call` frame as the host sends it; `args` is left out when None."""
    msg = {"kind": "call", "id": call_id, "name": name, **extra}
    if args is not None:
        msg["args"] = args
    return msg


class Hung(Exception):
    """Raised by a watchdog: a test waited for something that never came."""


def watchdog(test, why, seconds=None):
    """For the rest of `test`, SIGALRM raises Hung(why) in it; armed now for `seconds` if given (a
    test may re-arm it with signal.setitimer), and undone at cleanup."""
    def hung(signum, frame):
        raise Hung(why)

    previous = signal.signal(signal.SIGALRM, hung)
    if seconds is not None:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    test.addCleanup(signal.signal, signal.SIGALRM, previous)
    test.addCleanup(signal.setitimer, signal.ITIMER_REAL, 0)


class RecordingWriter:
    """FrameWriter's stand-in for in-process tests: encodes with the codec this suite runs on (so
    what cannot be encoded fails as on the wire, before anything counts as sent) and keeps the
    messages. `on_send(msg)` runs first, to look at the runtime's state at that moment."""

    def __init__(self):
        self.codec = CODECS[OFFERED[0]]
        self.sent = []
        self.on_send = None

    def send(self, msg):
        self.codec.encode(msg)
        if self.on_send is not None:
            self.on_send(msg)
        self.sent.append(msg)

    # FrameWriter's two halves, which a stream's batches use (batching.py): a payload is recorded
    # as the message it decodes to.
    def encode(self, msg):
        return self.codec.encode(msg)

    def send_result(self, call_id, value):
        # Recorded as the message its frame decodes to: the short path's bytes are what is checked.
        self.write_payload(self.codec.encode_result(call_id, value))

    def write_payload(self, payload):
        msg = self.codec.decode(payload)
        if self.on_send is not None:
            self.on_send(msg)
        self.sent.append(msg)

    def log(self, level, message):
        try:
            self.send({"kind": "log", "level": level, "message": message})
        except UnserializableError:
            pass

    def kinds(self):
        return [m["kind"] for m in self.sent]


class HandlersTest(unittest.TestCase):
    """Base class for in-process tests of the handlers a test module registers: `register()` adds
    them (every name starting with `prefix`) before the class's tests; they are removed after."""

    prefix = None

    @staticmethod
    def register():
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.register()

    @classmethod
    def tearDownClass(cls):
        for name in [n for n in REGISTRY if n.startswith(cls.prefix)]:
            del REGISTRY[name]


class InvokerTest(HandlersTest):
    """HandlersTest whose tests run calls through a real Invoker on this thread: each test gets
    `writer` (a RecordingWriter), `active`, `invoker` (keywords from `invoker_options()`) and the
    `link` its Contexts use; `context(name, args, **extra)` makes the next call, in `active`."""

    def invoker_options(self):
        return {}

    def setUp(self):
        self.writer = RecordingWriter()
        self.active = {}
        self.invoker = Invoker(self.writer, self.active, **self.invoker_options())
        self.link = Link(self.writer, HostCalls(self.writer.send), self.active)
        self.next_id = 0

    def context(self, name, args=None, **extra):
        self.next_id += 1
        ctx = Context(self.link, call_message(self.next_id, name, args, **extra))
        self.active[ctx.id] = ctx
        return ctx


class Worker:
    """One worker process and the host end of its two pipes."""

    def __init__(self, imports=DEFAULT_IMPORTS, args=(), env=None, handshake=True, codec=None, transport="pipe",
                 features=None):
        if transport == "pipe":
            to_worker_r, self.to_worker = os.pipe()
            self.from_worker, from_worker_w = os.pipe()
        else:  # what Node's libuv really hands the child for stdio 'pipe' entries
            self.to_worker, to_worker_r = (s.detach() for s in socket.socketpair())
            self.from_worker, from_worker_w = (s.detach() for s in socket.socketpair())
        self.stdout = tempfile.TemporaryFile()
        self.stderr = tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = PYTHON_DIR
        full_env["PYVISOR_PARENT_PID"] = str(os.getpid())
        full_env.update(env or {})
        cmd = [sys.executable, "-m", "pyvisor_worker"]
        for module in imports:
            cmd += ["--import", module]
        cmd += list(args)
        self.proc = subprocess.Popen(
            cmd, cwd=FIXTURES, env=full_env, stdin=subprocess.DEVNULL, stdout=self.stdout,
            stderr=self.stderr, close_fds=False, preexec_fn=_child_fds(to_worker_r, from_worker_w))
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.pid = self.proc.pid
        self.buf = b""
        self.codec = JsonCodec()
        self.next_id = 0
        self.hello = self.ready = None
        if handshake:
            self.handshake(codec, features)

    # --- frames -------------------------------------------------------------------------------

    def send_raw(self, data):
        os.write(self.to_worker, data)

    def send(self, msg):
        payload = self.codec.encode(msg)
        self.send_raw(struct.pack(">I", len(payload)) + payload)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_worker], [], [], left)[0]:
                raise AssertionError(f"no frame from the worker within the timeout; stderr: {self.err()!r}")
            data = os.read(self.from_worker, 1 << 20)
            if not data:
                raise EOFError(f"worker closed fd 4; stderr: {self.err()!r}")
            self.buf += data

    def recv(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        self._fill(4, deadline)
        (n,) = struct.unpack(">I", self.buf[:4])
        self._fill(4 + n, deadline)
        payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return self.codec.decode(payload)

    def recv_kind(self, *kinds, timeout=TIMEOUT):
        """Next frame whose kind is in kinds, skipping log frames."""
        while True:
            msg = self.recv(timeout)
            if msg["kind"] in kinds:
                return msg
            if msg["kind"] != "log":
                raise AssertionError(f"expected {kinds}, got {msg!r}")

    # --- protocol -----------------------------------------------------------------------------

    def handshake(self, codec=None, features=None):
        """`features`: offered in welcome (["chunks"]: stream items may come batched); None offers none."""
        self.hello = self.recv()
        assert self.hello["kind"] == "hello", self.hello
        chosen = codec or next(c for c in ("msgpack", "json") if c in self.hello["codecs"])
        welcome = {"kind": "welcome", "codec": chosen}
        if features is not None:
            welcome["features"] = features
        self.send(welcome)
        self.codec = CODECS[chosen]
        self.ready = self.recv_kind("ready")
        return self.ready

    def start_call(self, name, args=None, **extra):
        self.next_id += 1
        self.send(call_message(self.next_id, name, args, **extra))
        return self.next_id

    def answer(self, call_id, timeout=TIMEOUT):
        """Frames answering call_id up to the final one: [chunk|chunks..., result|error|end]."""
        frames = []
        while True:
            msg = self.recv_kind("result", "error", "chunk", "chunks", "end", timeout=timeout)
            assert msg["id"] == call_id, (msg, call_id)
            frames.append(msg)
            if msg["kind"] not in ("chunk", "chunks"):
                return frames

    def call(self, name, args=None, **extra):
        """Final frame of a call (result or error)."""
        return self.answer(self.start_call(name, args, **extra))[-1]

    # --- process ------------------------------------------------------------------------------

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def out(self):
        self.stdout.seek(0)
        return self.stdout.read()

    def err(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        self.stdout.close()
        self.stderr.close()


def stream_items(frames):
    """The items that `chunk` and `chunks` frames carry, in order."""
    items = []
    for frame in frames:
        if frame["kind"] == "chunk":
            items.append(frame["value"])
        elif frame["kind"] == "chunks":
            items.extend(frame["values"])
    return items


class WorkerTest(unittest.TestCase):
    """Base class: self.spawn() workers that are killed after the test."""

    def spawn(self, *args, **kwargs):
        worker = Worker(*args, **kwargs)
        self.addCleanup(worker.close)
        return worker

    def assertExits(self, worker, code, within=TIMEOUT):
        start = time.monotonic()
        self.assertEqual(worker.wait(within), code, worker.err())
        return time.monotonic() - start


class FakeStore:
    """Test-side host store: answers a worker's `pyvisor.store.*` host calls from a dict.

    Scoped like the real host: by the session of the call the worker is running (None = global),
    which the test host knows because it sent that call. Versions come from one store-wide
    counter, so a key deleted and created again never reuses a version. `counts` tells how many
    get replies carried a value ("get_full"), said "get_unchanged" or "get_missing"; `requests`
    keeps (session, name, args) of every host call; `fail_next[name] = (type, message)` makes the
    next call of that host handler fail with host_error.
    """

    def __init__(self):
        import collections  # noqa: PLC0415

        self.data = {}  # (session, key) -> (version, value)
        self.last_version = 0
        self.counts = collections.Counter()
        self.requests = []
        self.fail_next = {}

    def set(self, key, value, session=None):
        """Write as another worker would; returns the new version."""
        self.last_version += 1
        self.data[(session, key)] = (self.last_version, value)
        return self.last_version

    def value(self, key, session=None):
        entry = self.data.get((session, key))
        return None if entry is None else entry[1]

    def handle(self, name, args, session):
        """(True, value) or (False, (type, message)) for one host call."""
        self.requests.append((session, name, args))
        if name in self.fail_next:
            return False, self.fail_next.pop(name)
        args = args or {}
        if name == "pyvisor.store.get":
            entry = self.data.get((session, args["key"]))
            if entry is None:
                self.counts["get_missing"] += 1
                return True, None
            if args.get("version") == entry[0]:
                self.counts["get_unchanged"] += 1
                return True, {"version": entry[0], "unchanged": True}
            self.counts["get_full"] += 1
            return True, {"version": entry[0], "value": entry[1]}
        if name == "pyvisor.store.put":
            self.counts["put"] += 1
            return True, {"version": self.set(args["key"], args["value"], session)}
        if name == "pyvisor.store.delete":
            self.counts["delete"] += 1
            return True, self.data.pop((session, args["key"]), None) is not None
        if name == "pyvisor.deadline":  # the host arms it; a call with a deadline never asks
            self.counts["deadline"] += 1
            return True, args["ms"]
        if name == "pyvisor.store.list":
            self.counts["list"] += 1
            prefix = args.get("prefix", "")
            return True, sorted(k for s, k in self.data if s == session and k.startswith(prefix))
        return False, ("pyvisor.UnknownHostHandler", f"no host handler {name!r}")

    def call(self, worker, name, args=None, timeout=TIMEOUT, **extra):
        """Final frame (result or error) of a call, answering its store host calls on the way."""
        call_id = worker.start_call(name, args, **extra)
        session = extra.get("session")
        while True:
            msg = worker.recv(timeout)
            kind = msg["kind"]
            if kind == "log":
                continue
            if kind == "host_call":
                ok, value = self.handle(msg["name"], msg.get("args"), session)
                if ok:
                    worker.send({"kind": "host_result", "id": msg["id"], "value": value})
                else:
                    worker.send({"kind": "host_error", "id": msg["id"], "type": value[0], "message": value[1]})
                continue
            assert msg.get("id") == call_id and kind in ("result", "error"), (msg, call_id)
            return msg

    def value_of(self, worker, name, args=None, **extra):
        """The result value of a call that must succeed."""
        msg = self.call(worker, name, args, **extra)
        assert msg["kind"] == "result", msg
        return msg["value"]
