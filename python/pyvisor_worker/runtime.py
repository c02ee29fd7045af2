"""The running worker: one reader thread that owns fd 3, one main thread that runs handlers.

Why two threads: the host must get `pong`, `cancel` and `host_result` through while a handler is
busy (possibly blocked in C code), but handlers themselves must run on the main thread (signals,
many C extensions and asyncio expect it). Handoff is a SimpleQueue the main thread blocks on, so
the hot path has no polling; writes from both threads go through one lock.
"""
import os
import queue
import signal
import sys
import threading
from types import AsyncGeneratorType, CoroutineType, GeneratorType

from .context import Context, HostCalls
from .errors import error_type, format_traceback
from .protocol import MAX_LEN, FrameReader, ProtocolViolation, UnserializableError
from .registry import REGISTRY, handler_names
from .writer import FrameWriter, flush_and_exit

_STOP = object()  # queued by a `shutdown` frame
_SPECIAL = frozenset((GeneratorType, CoroutineType, AsyncGeneratorType))


class Runtime(FrameWriter):
    """Reader thread + main loop; inherits the locked frame writer that Context and HostCalls use."""

    def __init__(self, in_fd, out_fd, codec, max_frame_bytes):
        super().__init__(out_fd, codec)
        self.in_fd = in_fd
        self.max_frame_bytes = max_frame_bytes
        self.queue = queue.SimpleQueue()
        self.active = {}  # call id -> Context, so `cancel` can find queued and running calls
        self.host_calls = HostCalls(self.send)
        self.current = None  # the Context being run by the main thread; None = idle
        self.stopping = False
        self.loop = None

    # --- reader thread ----------------------------------------------------------------------

    def start_reader(self):
        thread = threading.Thread(target=self._read_loop, name="pyvisor-reader", daemon=True)
        thread.start()
        return thread

    def _read_loop(self):
        if hasattr(signal, "pthread_sigmask"):
            # Signals must land on the main thread, or its blocking queue wait would not wake.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            self._dispatch_frames()
        except ConnectionResetError:
            pass  # fd 3 may be a socket (libuv's stdio pipes are socketpairs): reset = host gone
        except ProtocolViolation as exc:
            self.fatal(f"protocol violation: {exc}")
        except BaseException as exc:  # noqa: BLE001
            self.fatal(f"reader thread failed: {type(exc).__name__}: {exc}")
        os._exit(0)  # EOF on fd 3: the host is gone

    def _dispatch_frames(self):
        decode, put, active = self.codec.decode, self.queue.put, self.active
        for payload in FrameReader(self.in_fd, self.max_frame_bytes).frames():
            try:
                msg = decode(payload)
            except Exception as exc:  # noqa: BLE001 (any decoder failure is corruption)
                raise ProtocolViolation(f"undecodable {self.codec.name} payload: {exc}") from None
            if type(msg) is not dict:
                raise ProtocolViolation(f"message is not a map: {type(msg).__name__}")
            kind = msg.get("kind")
            if kind == "call":
                ctx = Context(self, msg)
                _check_id(ctx.id, kind)
                if ctx._credit is not None:
                    _check_count(ctx._credit, "call window")
                active[ctx.id] = ctx
                put(ctx)
            elif kind == "ping":
                self.send({"kind": "pong", "id": _check_id(msg.get("id"), kind)})
            elif kind == "cancel":
                ctx = active.get(_check_id(msg.get("id"), kind))
                if ctx is not None:
                    ctx._cancel()
            elif kind == "credit":
                ctx = active.get(_check_id(msg.get("id"), kind))
                n = _check_count(msg.get("n"), "credit n")
                if ctx is not None:  # credit for a stream that already ended is normal: ignore it
                    ctx._grant(n)
            elif kind == "host_result" or kind == "host_error":
                call_id = _check_id(msg.get("id"), kind)
                ok = kind == "host_result"
                value = msg.get("value") if ok else (msg.get("type"), msg.get("message"))
                if not self.host_calls.complete(call_id, ok, value):
                    self.log("warning", f"{kind} for host call {call_id} that nobody waits for")
            elif kind == "shutdown":
                # In stream order: calls sent before it are finished, calls after it are refused.
                put(_STOP)
            else:
                self.log("warning", f"ignored message of unknown kind {kind!r}")

    # --- main thread ------------------------------------------------------------------------

    def install_signals(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host decides when we stop
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame):
        if self.current is None:
            flush_and_exit(0)
        self.stopping = True  # serve() exits after the running call has answered

    def serve(self):
        """Run calls one at a time until SIGTERM/shutdown. Never returns."""
        get, run = self.queue.get, self._run
        while True:
            self.current = None
            if self.stopping:
                self._drain_and_exit()
            ctx = self.current = get()
            if ctx is _STOP:
                self.stopping = True
                continue
            run(ctx)

    def _drain_and_exit(self):
        while True:
            try:
                ctx = self.queue.get_nowait()
            except queue.Empty:
                break
            if ctx is not _STOP:
                self._send_error(ctx, "pyvisor.ShuttingDown", "the worker is shutting down", "")
        flush_and_exit(0)

    def _finish(self, ctx, msg):
        # Forget the id before answering: once the host has the answer it may reuse the id.
        self.active.pop(ctx.id, None)
        try:
            self.send(msg)
        except UnserializableError as exc:
            self._send_error(ctx, "pyvisor.Unserializable",
                             f"cannot encode the result of {ctx.name!r} with {self.codec.name}: {exc}", "")

    def _send_error(self, ctx, type_, message, tb):
        self.active.pop(ctx.id, None)
        msg = {"kind": "error", "id": ctx.id, "type": type_, "message": message, "traceback": tb}
        try:
            self.send(msg)
        except UnserializableError:  # e.g. lone surrogates in a message: escape them
            for key in ("type", "message", "traceback"):
                msg[key] = str(msg[key]).encode("utf-8", "backslashreplace").decode("utf-8")
            self.send(msg)

    def _send_exception(self, ctx, exc):
        try:
            message = str(exc)
        except Exception:  # noqa: BLE001
            message = repr(exc)
        self._send_error(ctx, error_type(exc), message, format_traceback(exc))

    def _run(self, ctx):
        entry = REGISTRY.get(ctx.name) if type(ctx.name) is str else None
        if entry is None:
            self._send_error(ctx, "pyvisor.UnknownHandler",
                             f"no handler named {ctx.name!r}; available: {', '.join(handler_names()) or '(none)'}",
                             "")
            return
        fn, wants_ctx = entry
        args = ctx.args
        try:
            kind = type(args)
            if kind is dict:
                value = fn(ctx, **args) if wants_ctx else fn(**args)
            elif kind is list:
                value = fn(ctx, *args) if wants_ctx else fn(*args)
            elif args is None:
                value = fn(ctx) if wants_ctx else fn()
            else:
                self._send_error(ctx, "pyvisor.InvalidArguments",
                                 f"args must be a map, an array or absent, not {kind.__name__}", "")
                return
            if type(value) in _SPECIAL:
                if type(value) is CoroutineType:
                    value = self._event_loop().run_until_complete(value)
                else:
                    self._iterate(ctx, value)
                    return
        except SystemExit as exc:
            self._exit_from_handler(exc)
        except BaseException as exc:  # noqa: BLE001 (a handler failure never ends the worker)
            self._send_exception(ctx, exc)
            return
        if ctx.stream:
            if value is not None:  # a plain handler under stream: its return value is the last item
                try:
                    self._stream_item(ctx, value)
                except UnserializableError as exc:
                    self._send_exception(ctx, exc)
                    return
            self._finish(ctx, {"kind": "end", "id": ctx.id})
        else:
            self._finish(ctx, {"kind": "result", "id": ctx.id, "value": value})

    def _stream_item(self, ctx, value):
        """Send one chunk (waiting for credit); False if the call was cancelled meanwhile."""
        try:
            return ctx._send_chunk(value)
        except UnserializableError as exc:
            raise UnserializableError(f"cannot encode a stream item of {ctx.name!r} with {self.codec.name}: {exc}") \
                from None

    def _iterate(self, ctx, gen):
        """Generators: chunks when streaming, else one list. Checks ctx.cancelled between items."""
        is_async = type(gen) is AsyncGeneratorType
        loop = self._event_loop() if is_async else None
        items = None if ctx.stream else []
        try:
            try:
                while not ctx._cancelled:
                    if is_async:
                        try:
                            item = loop.run_until_complete(gen.__anext__())
                        except StopAsyncIteration:
                            break
                    else:
                        try:
                            item = next(gen)
                        except StopIteration:
                            break
                    if items is None:
                        if not self._stream_item(ctx, item):
                            break  # cancelled while waiting for credit
                    else:
                        items.append(item)
            finally:
                # Runs the generator's own finally blocks on cancel or error; a no-op once exhausted.
                if is_async:
                    loop.run_until_complete(gen.aclose())
                else:
                    gen.close()
        except SystemExit as exc:
            self._exit_from_handler(exc)
        except BaseException as exc:  # noqa: BLE001
            self._send_exception(ctx, exc)
            return
        if items is None:
            self._finish(ctx, {"kind": "end", "id": ctx.id})
        else:
            self._finish(ctx, {"kind": "result", "id": ctx.id, "value": items})

    def _event_loop(self):
        """One persistent loop for all async handlers, created on first use (asyncio is slow to import)."""
        if self.loop is None:
            import asyncio  # noqa: PLC0415

            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
        return self.loop

    def _exit_from_handler(self, exc):
        code = exc.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            try:
                print(code, file=sys.stderr)
            except Exception:  # noqa: BLE001
                pass
            code = 1
        flush_and_exit(code & 0xFF)


def _check_count(value, what):
    if type(value) is not int or value < 1:
        raise ProtocolViolation(f"{what} must be an integer >= 1, got {value!r}")
    return value


def _check_id(value, kind):
    if type(value) is not int or not 0 <= value <= MAX_LEN:
        raise ProtocolViolation(f"{kind} with a missing or invalid id: {value!r}")
    return value
