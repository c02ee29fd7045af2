"""`python -m pyvisor_worker --zygote ...`: the fork-server (`worker.startMethod: "forkserver"`).

The zygote imports the runtime, the user's modules and the preloads once, starts no thread, and
then forks a worker on each request of the host. A forked worker shares the zygote's memory
copy-on-write, so it is ready in milliseconds and its imports cost no memory of their own.

Control channel (the zygote's fds 3 and 4, 4-byte big-endian length + UTF-8 JSON, like the worker
protocol's JSON frames):

* zygote -> host ``{"kind": "ready", "pid", "threads", "importError"}`` once, after the imports.
  An import that failed is not fatal: each forked worker imports it again and reports the error
  through the normal handshake (``ready {status: "error"}``), exactly as a spawned worker would.
* host -> zygote ``{"kind": "fork", "key", "socket", "token"}``.
* zygote -> host ``{"kind": "forked", "key", "pid"}`` or ``{"kind": "forkFailed", "key", "message"}``.
* zygote -> host ``{"kind": "exit", "pid", "code", "signal"}`` for every child it reaped.

A forked worker connects three times to the Unix socket the host listens on (in a private 0700
directory), sending ``"<token> <key> <stream>\\n"`` first on each, stream being protocol, stdout or
stderr. The protocol socket becomes its fds 3 and 4, the others its fds 1 and 2; from there on it
runs the worker runtime as a spawned worker does (bootstrap.run_worker).

Why a socket the child connects to rather than fds passed by the zygote: the host cannot create a
socket pair, and Node has no SCM_RIGHTS outside its own IPC channel; a connection the child opens
itself needs nothing from the zygote but the path and the token.
"""
import gc
import importlib
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import traceback

from .bootstrap import IN_FD, OUT_FD, check_fds, put_cwd_on_path, run_worker, set_pdeathsig, start_up
from .errors import error_type
from .protocol import pack_header, read_frame
from .registry import import_target
from .runtime import SIGNALS as RUNTIME_SIGNALS
from .writer import flush_and_exit

CONTROL_MAX_FRAME_BYTES = 1 << 20
# Native thread pools of numeric libraries: one thread per worker unless the user asked otherwise
# (N workers x N cores threads oversubscribe the machine). They are read when the library loads,
# so the host sets them in the zygote's environment, before anything imports numpy.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
STREAMS = ("protocol", "stdout", "stderr")
# A forked worker that failed before the runtime took over (could not reach the host, ...).
EXIT_SETUP_FAILED = 70


def exit_status(status):
    """(code, signal name) of a wait status: one of them is None."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return None, signal.Signals(number).name
        except ValueError:
            return None, f"SIG{number}"
    return os.WEXITSTATUS(status), None


def preimport(imports, preloads):
    """Import what can be imported, in the order a spawned worker does (bootstrap.import_user_code).

    Returns (imports left, preloads left, error): after a failure, the failed module and everything
    after it are left for each forked worker to import, so it reports the error itself.
    """
    imported = preloaded = 0
    try:
        for target in imports:
            import_target(target)
            imported += 1
        for name in preloads:
            importlib.import_module(name)
            preloaded += 1
    except BaseException as exc:  # noqa: BLE001 (SystemExit at import time is a failed import too)
        return list(imports[imported:]), list(preloads[preloaded:]), f"{error_type(exc)}: {exc}"
    return [], [], None


def native_threads():
    """Threads of this process (the OS's count on Linux: C libraries' threads count too)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def open_fds():
    """The fds above 4 open now (the zygote's own, before any user code ran)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return {int(fd) for fd in os.listdir(folder) if int(fd) > OUT_FD}
        except OSError:
            continue
    return set()


def close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass  # the listing's own fd, or closed meanwhile


def auth_line(token, key, stream):
    """The first bytes a forked worker sends on each of its connections."""
    return f"{token} {key} {stream}\n".encode("ascii")


def connect(path, line):
    """A connection to the host's socket, announced by `line`; returns its fd (owned by the caller)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        sock.sendall(line)
    except BaseException:
        sock.close()
        raise
    return sock.detach()


def reseed():
    """Forked workers would otherwise draw the zygote's random numbers, all the same ones."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        try:
            numpy.random.seed()
        except Exception:  # noqa: BLE001 (a stub or broken numpy: nothing to re-seed)
            pass


def default_thread_vars(environ):
    """One native thread per worker, unless the user set the variable."""
    for name in THREAD_VARS:
        environ.setdefault(name, "1")


class Control:
    """The zygote's end of the control channel (fds 3 and 4)."""

    def __init__(self, in_fd=IN_FD, out_fd=OUT_FD):
        self.in_fd = in_fd
        self.out_fd = out_fd

    def send(self, msg):
        payload = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        data = memoryview(pack_header(len(payload)) + payload)
        while data:
            data = data[os.write(self.out_fd, data):]

    def receive(self):
        """The next request, or None once the host closed the channel."""
        payload = read_frame(self.in_fd, CONTROL_MAX_FRAME_BYTES)
        return None if payload is None else json.loads(payload)


class Zygote:
    """The request loop: fork on `fork`, report every reaped child, exit when the host hangs up."""

    def __init__(self, args, control, left, inherited=(), codecs=(), user_signals=()):
        self.args = args
        self.user_signals = user_signals
        self.codecs = codecs  # looked up once (a failed `import msgpack` costs each fork a path scan)
        self.control = control
        self.left = left  # (imports, preloads) each forked worker still has to import
        # Fds the zygote had before the user's imports (whatever its launcher leaked) and its own
        # wake-up pipe: a worker closes them. Fds the user's modules opened at import are kept.
        self.pid = os.getpid()
        self.wake_r, self.wake_w = os.pipe()
        self.not_theirs = set(inherited) | {self.wake_r, self.wake_w}

    def serve(self, ready):
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        # SIGCHLD wakes the select below through the pipe; the handler itself has nothing to do.
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host decides when we stop
        self.control.send(ready)
        while True:
            readable = select.select([self.control.in_fd, self.wake_r], [], [])[0]
            if self.wake_r in readable:
                self._drain_wakeups()
            self.reap()
            if self.control.in_fd in readable:
                msg = self.control.receive()
                if msg is None:
                    return 0  # the host is done with us; our children die with us (PDEATHSIG)
                if msg.get("kind") == "fork":
                    self.fork(msg)

    def _drain_wakeups(self):
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def reap(self):
        """Report every child that has exited (waitpid never blocks here)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code, name = exit_status(status)
            self.control.send({"kind": "exit", "pid": pid, "code": code, "signal": name})

    def fork(self, msg):
        key = msg.get("key")
        # Buffered prints would otherwise be written twice: by the zygote and by the child.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        try:
            pid = os.fork()
        except OSError as exc:
            self.control.send({"kind": "forkFailed", "key": key, "message": str(exc)})
            return
        if pid == 0:
            code = EXIT_SETUP_FAILED
            try:
                code = self.become_worker(msg)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            flush_and_exit(code)  # never back into the zygote's loop
        self.control.send({"kind": "forked", "key": key, "pid": pid})

    def become_worker(self, msg):
        """In the forked child: leave the zygote's fds and signals behind, connect, run the runtime."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        close_fds(self.not_theirs)
        # Die with the zygote (which dies with the host); it may have died before prctl took effect.
        if set_pdeathsig() and os.getppid() != self.pid:
            return 0
        fds = [connect(msg["socket"], auth_line(msg["token"], msg["key"], s)) for s in STREAMS]
        # dup2 over fds 3 and 4 also closes the zygote's control channel in this process.
        for target, fd in ((IN_FD, fds[0]), (OUT_FD, fds[0]), (1, fds[1]), (2, fds[2])):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        check_fds()
        reseed()
        default_thread_vars(os.environ)
        return run_worker(self.args, self.codecs, *self.left, user_signals=self.user_signals)


def serve(args):
    """The zygote's main: imports, then the request loop until the host closes fd 3."""
    codecs = start_up(args)
    if codecs is None:
        return 2
    default_thread_vars(os.environ)
    inherited = open_fds()
    before = {signum: signal.getsignal(signum) for signum in RUNTIME_SIGNALS}
    put_cwd_on_path()  # the user's modules are imported here, once, for every worker
    imports, preloads, error = preimport(args.imports, args.preload)
    user_signals = [(s, h) for s, h in ((s, signal.getsignal(s)) for s in RUNTIME_SIGNALS) if h is not before[s]]
    # Objects imported so far move to the permanent generation: the workers' collections never
    # visit them, so their pages stay shared with the zygote instead of being copied on write.
    gc.freeze()
    control = Control()
    zygote = Zygote(args, control, (imports, preloads), inherited, codecs, user_signals)
    ready = {"kind": "ready", "pid": os.getpid(), "threads": native_threads(), "importError": error}
    return zygote.serve(ready)
