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
    parser.add_argument("--max-memory-mb", type=int, default=None, metavar="N",
                        help="memory the kernel lets this worker allocate, in MiB (RLIMIT_DATA on Linux, else RLIMIT_AS)")
    parser.add_argument("--validate", action="store_true",
                        help="check each call's arguments against its handler's signature before running it")
    parser.add_argument("--describe", action="store_true",
                        help="print every handler's and program's signature as JSON on stdout and exit "
                             "(for `pyvisor types`; needs no host)")
    args = parser.parse_args(argv)
    if args.max_memory_mb is not None and args.max_memory_mb <= 0:
        parser.error("--max-memory-mb must be positive")
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


def limit_memory(mb):
    """Cap what this process may allocate, before user code runs: past it, allocations fail with
    MemoryError. RLIMIT_DATA on Linux (heap and private writable mappings, since Linux 4.7), which
    leaves address space that libraries only reserve (CUDA, JAX) alone; RLIMIT_AS elsewhere."""
    try:
        import resource  # noqa: PLC0415 (POSIX only)
    except ImportError:
        sys.stderr.write("pyvisor_worker: --max-memory-mb needs the resource module (POSIX); running without a limit\n")
        return
    which = resource.RLIMIT_DATA if sys.platform.startswith("linux") else resource.RLIMIT_AS
    limit = mb * 1024 * 1024
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY and hard < limit:
        limit = hard
    resource.setrlimit(which, (limit, hard))


def check_fds():
    try:
        for fd in (IN_FD, OUT_FD):
            os.set_inheritable(fd, False)  # keep the protocol pipes out of the user's subprocesses
            os.set_blocking(fd, True)  # the runtime's reads and writes block; never spin on EAGAIN
    except OSError:
        sys.stderr.write("pyvisor_worker: fds 3 and 4 must be open; this program is started by the pyvisor host\n")
        sys.exit(2)


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


def load_user_code(writer, imports, preloads):
    """Import the user's modules, then preloads; report ready ok, or ready error and exit 1."""
    try:
        for target in imports:
            import_target(target)
        for name in preloads:
            importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 (SystemExit at import time is a failed start too)
        import traceback  # noqa: PLC0415 (only on failure)

        writer.send({"kind": "ready", "status": "error", "type": error_type(exc),
                     "message": str(exc), "traceback": traceback.format_exc()})
        flush_and_exit(1)
    writer.send({"kind": "ready", "status": "ok", "handlers": handler_names()})


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.describe:
        from .describe import main as describe  # noqa: PLC0415 (only `pyvisor types` needs it)

        return describe(args.imports)
    check_fds()
    bind_to_parent()
    if args.max_memory_mb is not None:
        limit_memory(args.max_memory_mb)
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
    load_user_code(rt.writer, args.imports, args.preload)
    if args.validate:
        from .checks import install  # noqa: PLC0415 (without --validate, calls pay nothing)

        install()
    rt.serve()
    return 0
