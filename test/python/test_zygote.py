"""The fork-server (zygote.py): its pure helpers in-process, and a real zygote driven by a test host
over its control channel, with forked workers connecting to the test's Unix socket."""
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from harness import FIXTURES, PYTHON_DIR, TIMEOUT, JsonCodec, Worker, _child_fds

from pyvisor_worker import zygote
from pyvisor_worker.zygote import auth_line, default_thread_vars, exit_status, preimport, reseed

TOKEN = "t0ken"


class HelpersTest(unittest.TestCase):
    def test_exit_status_of_a_normal_exit_and_of_a_signal(self):
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        self.assertEqual(exit_status(os.waitpid(pid, 0)[1]), (3, None))
        pid = os.fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        self.assertEqual(exit_status(os.waitpid(pid, 0)[1]), (None, "SIGKILL"))

    def test_preimport_leaves_the_failed_module_and_the_rest_to_the_workers(self):
        sys.path.insert(0, FIXTURES)
        self.addCleanup(sys.path.remove, FIXTURES)
        imports, preloads, error = preimport(["basic", "import_error", "py_extra"], ["json"])
        self.assertEqual((imports, preloads), (["import_error", "py_extra"], ["json"]))
        self.assertIn("cannot be imported on purpose", error)
        self.assertEqual(preimport(["basic"], ["json"]), ([], [], None))
        self.assertEqual(preimport([], ["no_such_module_xyz"])[:2], ([], ["no_such_module_xyz"]))

    def test_thread_vars_default_to_one_unless_set(self):
        env = {"OMP_NUM_THREADS": "4"}
        default_thread_vars(env)
        self.assertEqual(env, {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})

    def test_reseed_changes_the_sequence(self):
        random.seed(1)
        state = random.getstate()
        reseed()
        self.assertNotEqual(random.getstate(), state)

    def test_auth_line(self):
        self.assertEqual(auth_line("tok", "w1.3", "stderr"), b"tok w1.3 stderr\n")


class Forked(Worker):
    """A forked worker seen from the test host: the protocol socket plus its stdout/stderr sockets."""

    def __init__(self, pid, conns):
        self.pid = pid
        self.conns = conns
        self.to_worker = self.from_worker = conns["protocol"].fileno()
        self.buf = b""
        self.codec = JsonCodec()
        self.next_id = 0
        self.handshake()

    def read_stream(self, name, until, timeout=TIMEOUT):
        data, sock, deadline = b"", self.conns[name], time.monotonic() + timeout
        while until not in data:
            if not select.select([sock], [], [], max(0, deadline - time.monotonic()))[0]:
                raise AssertionError(f"{until!r} not seen on {name}: {data!r}")
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def err(self):
        return "(stderr is a socket)"

    def close(self):
        for sock in self.conns.values():
            sock.close()


class ZygoteHost:
    """A zygote started like the TypeScript host starts it, control frames on its fds 3/4."""

    def __init__(self, imports=("zygote_probe",), env=None):
        self.dir = tempfile.mkdtemp(prefix="pyvisor-zygote-test-")
        self.path = os.path.join(self.dir, "s")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        to_r, self.to_zygote = os.pipe()
        self.from_zygote, from_w = os.pipe()
        full_env = dict(os.environ, PYTHONPATH=PYTHON_DIR, PYVISOR_PARENT_PID=str(os.getpid()))
        full_env.update(env or {})
        cmd = [sys.executable, "-m", "pyvisor_worker", "--zygote"]
        for module in imports:
            cmd += ["--import", module]
        self.proc = subprocess.Popen(cmd, cwd=FIXTURES, env=full_env, stdin=subprocess.DEVNULL, close_fds=False,
                                     preexec_fn=_child_fds(to_r, from_w))
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.seq = 0
        self.exits = {}  # exit reports read while waiting for something else, by pid
        self.ready = self.recv()

    def send(self, msg):
        payload = json.dumps(msg).encode()
        os.write(self.to_zygote, struct.pack(">I", len(payload)) + payload)

    def recv(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
            if not select.select([self.from_zygote], [], [], max(0, deadline - time.monotonic()))[0]:
                raise AssertionError("no control frame from the zygote")
            data = os.read(self.from_zygote, 65536)
            if not data:
                raise EOFError("zygote closed its control channel")
            self.buf += data
        (n,) = struct.unpack(">I", self.buf[:4])
        payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return json.loads(payload)

    def fork(self, token=TOKEN):
        self.seq += 1
        key = f"w{self.seq}"
        self.send({"kind": "fork", "key": key, "socket": self.path, "token": token})
        forked = self.recv()
        while forked["kind"] == "exit":
            self.exits[forked["pid"]] = forked
            forked = self.recv()
        assert forked == {"kind": "forked", "key": key, "pid": forked["pid"]}, forked
        conns = {}
        self.server.settimeout(TIMEOUT)
        for _ in range(3):
            conn, _ = self.server.accept()
            line = b""
            while not line.endswith(b"\n"):
                line += conn.recv(1)
            got_token, got_key, stream = line.decode().split()
            assert (got_token, got_key) == (token, key), line
            conns[stream] = conn
        return Forked(forked["pid"], conns)

    def exit_of(self, pid):
        if pid in self.exits:
            return self.exits.pop(pid)
        while True:
            msg = self.recv()
            if msg["kind"] == "exit" and msg["pid"] == pid:
                return msg

    def close(self):
        os.close(self.to_zygote)
        try:
            self.proc.wait(TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.from_zygote)
            self.server.close()
            shutil.rmtree(self.dir, ignore_errors=True)


# Reads /proc: the fork-server and these tests are for Linux (CI runs here); macOS has no /proc.
class ZygoteTest(unittest.TestCase):
    def start(self, **kwargs):
        host = ZygoteHost(**kwargs)
        self.addCleanup(host.close)
        return host

    def fork(self, host):
        w = host.fork()
        self.addCleanup(w.close)
        return w

    def test_forked_workers_serve_from_code_the_zygote_imported_once(self):
        host = self.start()
        self.assertEqual(host.ready["kind"], "ready")
        self.assertIsNone(host.ready["importError"])
        self.assertEqual(host.ready["threads"], 1)
        a, b = self.fork(host), self.fork(host)
        self.assertEqual(a.ready["status"], "ok")
        self.assertIn("bump", a.ready["handlers"])
        self.assertEqual(a.hello["pid"], a.pid)
        self.assertEqual(a.call("imported_in")["value"], host.ready["pid"])
        self.assertEqual(a.call("pid")["value"], a.pid)
        self.assertNotEqual(a.pid, b.pid)
        # One worker's state never reaches the zygote, nor the next worker forked from it.
        self.assertEqual([a.call("bump")["value"] for _ in range(3)], [1, 2, 3])
        c = self.fork(host)
        self.assertEqual(c.call("bump")["value"], 1)
        self.assertNotEqual(a.call("draw")["value"]["draws"], b.call("draw")["value"]["draws"])

    def test_fds_env_and_output_are_the_workers_own(self):
        host = self.start(env={"OMP_NUM_THREADS": "3"})
        w = self.fork(host)
        # Only the sockets it was handed (now on 1-4) are open: none of the zygote's, not even
        # the copies of its control pipes that _child_fds leaves open in it (fds 10 and up).
        self.assertEqual(w.call("fds")["value"], {})
        self.assertEqual(w.call("thread_vars")["value"],
                         {"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        self.assertEqual(w.call("say", {"text": "hi"})["value"], "hi")
        self.assertIn(b"out:hi\n", w.read_stream("stdout", b"out:hi\n"))
        self.assertIn(b"err:hi\n", w.read_stream("stderr", b"err:hi\n"))

    def test_exits_are_reported_with_code_or_signal(self):
        host = self.start()
        w = self.fork(host)
        w.start_call("die", {"code": 7})
        self.assertEqual(host.exit_of(w.pid), {"kind": "exit", "pid": w.pid, "code": 7, "signal": None})
        w2 = self.fork(host)
        os.kill(w2.pid, signal.SIGKILL)
        self.assertEqual(host.exit_of(w2.pid), {"kind": "exit", "pid": w2.pid, "code": None, "signal": "SIGKILL"})

    def test_an_import_error_is_reported_by_each_forked_worker(self):
        host = self.start(imports=("zygote_probe", "import_error"))
        self.assertIn("cannot be imported on purpose", host.ready["importError"])
        w = self.fork(host)
        self.assertEqual(w.ready["status"], "error")
        self.assertIn("cannot be imported on purpose", w.ready["message"])
        self.assertEqual(host.exit_of(w.pid)["code"], 1)

    def test_signal_handlers_set_by_the_imports_win_over_the_runtimes(self):
        # As in a spawned worker, which imports the user's code after installing its own handlers.
        host = self.start(imports=("ignore_sigterm",))
        self.assertIs(self.fork(host).call("sigterm_ignored")["value"], True)

    def test_a_worker_dies_with_its_zygote(self):
        host = self.start()
        w = self.fork(host)
        host.proc.kill()
        host.proc.wait(TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and _alive(w.pid):
            time.sleep(0.01)
        self.assertFalse(_alive(w.pid))

    def test_closing_the_control_channel_ends_the_zygote(self):
        host = self.start()
        os.close(host.to_zygote)
        self.assertEqual(host.proc.wait(TIMEOUT), 0)
        host.to_zygote = os.open(os.devnull, os.O_RDONLY)  # for close()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


if __name__ == "__main__":
    unittest.main()
