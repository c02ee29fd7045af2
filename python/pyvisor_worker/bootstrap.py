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
    parser.add_argument("--max-memory-mb", type=int, default=None, metavar="N",
                        help="memory the kernel lets this worker allocate, in MiB (RLIMIT_DATA on Linux, else RLIMIT_AS)")
    parser.add_argument("--zygote", action="store_true",
                        help="import once, then fork workers on the host's requests (worker.startMethod 'forkserver')")
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


_libc = []  # loaded once: a zygote's forked workers reuse it


def set_pdeathsig():
    """Linux: SIGKILL this process when its parent dies. False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        if not _libc:
            import ctypes  # noqa: PLC0415 (Linux only)

            _libc.append(ctypes.CDLL(None, use_errno=True))
        _libc[0].prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 (no libc or no prctl: run without the safety net)
        return False
    return True


def bind_to_parent():
    """Linux: die with the host even if it is SIGKILLed, and notice if it died before we got here."""
    if not set_pdeathsig():
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


def import_user_code(imports, preloads):
    """Import the user's modules, then preloads (a failure raises)."""
    for target in imports:
        import_target(target)
    for name in preloads:
        importlib.import_module(name)


def put_cwd_on_path():
    """The host starts Python with PYTHONSAFEPATH (and PYVISOR_SAFEPATH to say so), so that the
    working directory, the user's, is not on sys.path while the runtime imports what it needs: a
    user file named platform.py or argparse.py would replace the stdlib module (Python before 3.11
    ignores the variable: the package's __init__ takes cwd off instead). From here on the user's
    modules are found there as usual, and the user's own subprocesses get the usual path."""
    if os.environ.pop("PYVISOR_SAFEPATH", None) is None:
        return
    os.environ.pop("PYTHONSAFEPATH", None)
    cwd = os.getcwd()
    if sys.path[:1] != [cwd]:
        sys.path.insert(0, cwd)


def load_user_code(writer, imports, preloads):
    """Import the user's modules, then preloads; report ready ok, or ready error and exit 1."""
    try:
        import_user_code(imports, preloads)
    except BaseException as exc:  # noqa: BLE001 (SystemExit at import time is a failed start too)
        writer.send({"kind": "ready", "status": "error", "type": error_type(exc),
                     "message": str(exc), "traceback": traceback.format_exc()})
        flush_and_exit(1)
    writer.send({"kind": "ready", "status": "ok", "handlers": handler_names()})


def usable_codecs():
    """The codecs this interpreter offers, or None (after saying why on stderr) when none is left."""
    codecs = available_codecs(os.environ.get("PYVISOR_CODECS"))
    if not codecs:
        sys.stderr.write(f"pyvisor_worker: PYVISOR_CODECS={os.environ.get('PYVISOR_CODECS')!r} leaves no usable codec\n")
        return None
    return codecs


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.describe:
        from .describe import main as describe  # noqa: PLC0415 (only `pyvisor types` needs it)

        put_cwd_on_path()  # the user's modules are found in cwd, as a worker finds them
        return describe(args.imports)
    # The host asks for the fork-server through the environment (it spawns every interpreter alike);
    # popped, so the workers forked from it and their own subprocesses do not inherit it.
    if os.environ.pop("PYVISOR_ZYGOTE", "") == "1" or args.zygote:
        from .zygote import serve  # noqa: PLC0415 (only the fork-server needs it)

        return serve(args)
    codecs = start_up(args)
    if codecs is None:
        return 2
    return run_worker(args, codecs, args.imports, args.preload)


def start_up(args):
    """What a process the host started does first (a worker, or a zygote): fds, parent, the memory
    limit (a zygote's is inherited by every worker it forks), stdout.
    Returns the codecs it offers, or None when none is usable."""
    check_fds()
    enable_fault_dump()
    bind_to_parent()
    if args.max_memory_mb is not None:
        limit_memory(args.max_memory_mb)
    line_buffer_stdout()
    return usable_codecs()


def run_worker(args, codecs, imports, preloads, user_signals=()):
    """The worker proper on fds 3/4: handshake, the user's imports (those not done yet), serve.

    A spawned worker runs it after start-up; a forked one (zygote.py) once its fds are in place,
    with only the imports its zygote could not do, and `user_signals`, the (signal, handler) pairs
    its zygote's imports installed: they win over the runtime's, as they do when a spawned worker
    imports the user's code after installing its own.
    """
    rt = Runtime(IN_FD, OUT_FD, JsonCodec(), args.max_frame_bytes, args.concurrency)
    rt.install_signals()
    for signum, handler in user_signals:
        signal.signal(signum, handler)
    features = handshake(rt.writer, args.max_frame_bytes, codecs)
    if features is None:
        os._exit(0)
    rt.invoker.batching = "chunks" in features
    rt.start_reader()  # from here on, pings are answered even during a slow import
    put_cwd_on_path()
    load_user_code(rt.writer, imports, preloads)
    if args.validate:
        from .checks import install  # noqa: PLC0415 (without --validate, calls pay nothing)

        install()
    rt.serve()
    return 0
