"""Process start-up: arguments, parent binding, the hello/welcome/ready handshake, user imports.

Ordered so the host learns as early as possible what went wrong: `hello` goes out before the user's
module is imported (so "Python did not start" and "your import failed" look different), and an
import failure becomes a `ready {status:'error'}` frame rather than a silent crash.
"""
import argparse
import importlib
import os
import platform
import signal
import sys
import traceback

from .protocol import (DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, JsonCodec, ProtocolViolation,
                       available_codecs, read_frame)
from .registry import handler_names, import_target
from .errors import error_type
from .runtime import Runtime
from .writer import flush_and_exit

IN_FD = 3
OUT_FD = 4


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m pyvisor_worker",
        description="pyvisor worker: serves @handler functions to a Node.js host over fds 3 and 4.")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                        help="dotted module name or path/to/file.py holding @handler functions (repeatable)")
    parser.add_argument("--preload", action="append", default=[], metavar="MODULE",
                        help="module to import before reporting ready, e.g. numpy (repeatable)")
    parser.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_FRAME_BYTES, metavar="N",
                        help="largest host frame accepted (default 64 MiB); larger is a protocol violation")
    parser.add_argument("--concurrency", type=int, default=1, metavar="N",
                        help="calls of async def handlers run at once on the event loop (default 1); "
                             "sync handlers, generators and streams still run one at a time")
    args = parser.parse_args(argv)
    if args.max_frame_bytes <= 0:
        parser.error("--max-frame-bytes must be positive")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def bind_to_parent():
    """Linux: die with the host even if it is SIGKILLed, and notice if it died before we got here."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # noqa: PLC0415 (Linux only)

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 (no libc or no prctl: run without the safety net)
        return
    expected = os.environ.get("PYVISOR_PARENT_PID", "")
    if not expected.isdigit() or os.getppid() == int(expected):
        return
    # Parent changed before prctl took effect: the host is gone, unless we run under a wrapper
    # (a shell or launcher between host and Python), in which case the host pid is still alive.
    try:
        os.kill(int(expected), 0)
    except ProcessLookupError:
        os._exit(0)
    except OSError:
        pass


def check_fds():
    try:
        for fd in (IN_FD, OUT_FD):
            os.set_inheritable(fd, False)  # keep the protocol pipes out of the user's subprocesses
            os.set_blocking(fd, True)  # the runtime's reads and writes block; never spin on EAGAIN
    except OSError:
        sys.stderr.write("pyvisor_worker: fds 3 and 4 must be open; this program is started by the pyvisor host\n")
        sys.exit(2)


_fault_file = None  # kept open for the life of the process: faulthandler writes to its fd


def enable_fault_dump():
    """A fatal signal (SIGSEGV, SIGBUS, SIGABRT...) dumps every thread's Python stack to the file
    the host named for this incarnation, which it reads after the exit (WorkerCrashedError.stack);
    to stderr without one. The variable is removed so the user's subprocesses do not share it."""
    global _fault_file
    import faulthandler  # noqa: PLC0415 (built in; only needed here)

    path = os.environ.pop("PYVISOR_FAULT_FILE", None)
    if path:
        try:
            _fault_file = open(path, "x", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
        except OSError:
            _fault_file = None
    faulthandler.enable(file=_fault_file or sys.stderr, all_threads=True)


def line_buffer_stdout():
    """The host turns stdout into log lines as they come; block buffering would hold prints back."""
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except Exception:  # noqa: BLE001 (replaced or exotic stdout: leave it alone)
        pass


def handshake(writer, max_frame_bytes, codecs):
    """Send hello, wait for welcome, switch codecs. Returns the features the host offered (a set of
    names; "chunks": stream items may be batched), or None on EOF (host gone)."""
    writer.send({"kind": "hello", "protocol": PROTOCOL_VERSION, "pid": os.getpid(),
                 "python": platform.python_version(), "codecs": [c.name for c in codecs]})
    try:
        try:
            payload = read_frame(IN_FD, max_frame_bytes)
        except ConnectionResetError:
            payload = None
        if payload is None:
            return None
        try:
            msg = writer.codec.decode(payload)
        except ValueError as exc:
            raise ProtocolViolation(f"undecodable welcome: {exc}") from None
        if type(msg) is not dict or msg.get("kind") != "welcome":
            raise ProtocolViolation(f"expected welcome, got {msg!r:.200}")
        chosen = [c for c in codecs if c.name == msg.get("codec")]
        if not chosen:
            raise ProtocolViolation(f"welcome chose codec {msg.get('codec')!r}, offered {[c.name for c in codecs]}")
        features = msg.get("features", [])
        if type(features) is not list or not all(type(f) is str for f in features):
            raise ProtocolViolation(f"welcome features must be a list of strings, got {features!r:.200}")
    except ProtocolViolation as exc:
        writer.fatal(f"protocol violation: {exc}")
    writer.set_codec(chosen[0])
    return set(features)  # names this runtime does not know are ignored: a newer host may offer more


def put_cwd_on_path():
    """The host starts Python with PYTHONSAFEPATH (and PYVISOR_SAFEPATH to say so), so that the
    working directory, the user's, is not on sys.path while the runtime imports what it needs: a
    user file named platform.py or argparse.py would replace the stdlib module. From here on the
    user's modules are found there as usual, and the user's own subprocesses get the usual path."""
    if os.environ.pop("PYVISOR_SAFEPATH", None) is None:
        return
    os.environ.pop("PYTHONSAFEPATH", None)
    cwd = os.getcwd()
    if sys.path[:1] != [cwd]:  # Python before 3.11 ignores PYTHONSAFEPATH and put it there already
        sys.path.insert(0, cwd)


def load_user_code(writer, imports, preloads):
    """Import the user's modules, then preloads; report ready ok, or ready error and exit 1."""
    try:
        for target in imports:
            import_target(target)
        for name in preloads:
            importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 (SystemExit at import time is a failed start too)
        writer.send({"kind": "ready", "status": "error", "type": error_type(exc),
                     "message": str(exc), "traceback": traceback.format_exc()})
        flush_and_exit(1)
    writer.send({"kind": "ready", "status": "ok", "handlers": handler_names()})


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    check_fds()
    enable_fault_dump()
    bind_to_parent()
    line_buffer_stdout()
    codecs = available_codecs(os.environ.get("PYVISOR_CODECS"))
    if not codecs:
        sys.stderr.write(f"pyvisor_worker: PYVISOR_CODECS={os.environ.get('PYVISOR_CODECS')!r} leaves no usable codec\n")
        return 2
    rt = Runtime(IN_FD, OUT_FD, JsonCodec(), args.max_frame_bytes, args.concurrency)
    rt.install_signals()
    features = handshake(rt.writer, args.max_frame_bytes, codecs)
    if features is None:
        os._exit(0)
    rt.invoker.batching = "chunks" in features
    rt.start_reader()  # from here on, pings are answered even during a slow import
    put_cwd_on_path()
    load_user_code(rt.writer, args.imports, args.preload)
    rt.serve()
    return 0
