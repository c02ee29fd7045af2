"""The running worker: the main thread runs handlers, a helper thread covers fd 3 while it does.

Why two threads: the host must get `pong`, `cancel` and `host_result` through while a handler is
busy (possibly blocked in C code), but handlers themselves must run on the main thread (signals,
many C extensions and asyncio expect it).

Who reads fd 3: whichever thread holds the read lock; whoever reads dispatches every complete frame
it has before letting go of it. An idle main thread reads fd 3 itself, so a call wakes the very
thread that runs it: a round trip costs the same two thread wake-ups as a bare echo (a handoff from
a reader thread would add one, plus a GIL exchange). The helper takes over fd 3 while the main
thread is busy -- answering `ping`, `cancel`, `credit` and `host_result` at once and queueing
calls in stream order -- but only for work that lasts: it looks every TICK seconds and covers fd 3
once the main thread has been on the same piece of work for a whole tick, so short calls never wake
it. Waiting for the host (a host call, stream credit) and the start-up imports get it at once.
After a tick of idleness it sleeps until the main thread starts work again. Writes from both threads
go through one lock (writer.py).
"""
import collections
import os
import select
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
TICK = 0.005  # seconds of main-thread work after which the helper reads fd 3: ping/cancel wait <= 2 ticks
_RECHECK_MS = 50  # while covering, how often the helper checks that the work has not ended


class Runtime(FrameWriter):
    """Frame dispatch on fd 3 + the main loop; inherits the locked frame writer that Context and HostCalls use."""

    def __init__(self, in_fd, out_fd, codec, max_frame_bytes):
        super().__init__(out_fd, codec)
        self.in_fd = in_fd
        self.max_frame_bytes = max_frame_bytes
        self.calls = collections.deque()  # calls (and _STOP) read but not started yet, in stream order
        self.active = {}  # call id -> Context, so `cancel` can find queued and running calls
        self.host_calls = HostCalls(self._send_host_call)
        self.current = None  # the Context being run by the main thread; None = idle
        self.stopping = False
        self.loop = None
        self._frames = FrameReader(in_fd, max_frame_bytes)
        self._read_lock = threading.Lock()  # held by the thread reading fd 3 and dispatching its frames
        # Main thread <-> helper. Written by the main thread only, except _parked (helper only).
        self._reading = False  # the main thread is in _next_call: it reads fd 3 itself
        self._period = 0  # bumped each time the main thread leaves _next_call (a new piece of work)
        self._urgent = 0  # == _period: this piece of work needs fd 3 read now (the start-up imports)
        self._parked = False  # the helper sleeps until the next _period
        self._cond = threading.Condition(threading.Lock())

    # --- reading fd 3 (either thread, under the read lock) ---------------------------------------

    def start_reader(self):
        """Start the helper thread; it reads fd 3 at once, so pings are answered during imports."""
        thread = threading.Thread(target=self._helper_loop, name="pyvisor-reader", daemon=True)
        thread.start()
        return thread

    def _helper_loop(self):
        if hasattr(signal, "pthread_sigmask"):
            # Signals must land on the main thread, or its blocking read would not wake.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            wait, ready = _waiters(self.in_fd)
            while True:
                self._cover(self._await_work(), wait, ready)
        except BaseException as exc:  # noqa: BLE001
            self._reading_ended(exc, "reader thread")

    def _reading_ended(self, exc, who):
        """Reading fd 3 stopped: EOF (the host is gone) exits 0, corruption exits 3. Never returns."""
        if isinstance(exc, (EOFError, ConnectionResetError)):
            # EOF; fd 3 may be a socket (libuv's stdio pipes are socketpairs): reset = host gone too
            os._exit(0)
        if isinstance(exc, ProtocolViolation):
            self.fatal(f"protocol violation: {exc}")
        self.fatal(f"{who} failed: {type(exc).__name__}: {exc}")

    def _await_work(self):
        """Helper: wait until the main thread has been busy on one piece of work for a tick; return its _period."""
        cond, seen = self._cond, None
        with cond:
            while True:
                period = self._period
                if not self._reading and (period == seen or self._urgent == period):
                    return period
                if self._reading and period == seen:
                    # Idle for a whole tick: sleep until the main thread starts work. It bumps _period,
                    # then looks at _parked; we set _parked, then look at _period: one of us sees the other.
                    self._parked = True
                    if self._reading and self._period == seen:
                        cond.wait()
                    self._parked = False
                    continue
                seen = period
                cond.wait(TICK)

    def _cover(self, period, wait, ready):
        """Helper: read fd 3 whenever bytes wait there, until the main thread's work `period` ends."""
        lock, fill, drain = self._read_lock, self._frames.fill, self._drain
        while self._period == period and not self._reading:
            if not wait(_RECHECK_MS):
                continue
            with lock:
                # The main thread may have taken those bytes meanwhile: read only what is there now.
                if ready():
                    fill()
                    drain()

    def _wake_helper(self, urgent):
        with self._cond:
            if urgent:
                self._urgent = self._period
            self._cond.notify()

    def _send_host_call(self, msg):
        """HostCalls' way out: the caller will block for the answer, so the helper reads fd 3 now."""
        if not self._reading:
            self._wake_helper(True)
        self.send(msg)

    def _next_call(self):
        """Main thread: the next call (or _STOP), queued by the helper or read here. EOFError at EOF."""
        calls, fill, drain = self.calls, self._frames.fill, self._drain
        with self._read_lock:
            self._reading = True
            try:
                while not calls:
                    fill()
                    drain()
                return calls.popleft()
            finally:
                self._reading = False
                self._period += 1
                if self._parked:
                    self._wake_helper(False)

    def _drain(self):
        """Dispatch every complete frame buffered (caller holds the read lock)."""
        pop, dispatch = self._frames.pop, self._dispatch
        payload = pop()
        while payload is not None:
            dispatch(payload)
            payload = pop()
        if self._frames.eof:
            raise EOFError

    def _dispatch(self, payload):
        try:
            msg = self.codec.decode(payload)
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
            self.active[ctx.id] = ctx
            self.calls.append(ctx)
        elif kind == "ping":
            self.send({"kind": "pong", "id": _check_id(msg.get("id"), kind)})
        elif kind == "cancel":
            ctx = self.active.get(_check_id(msg.get("id"), kind))
            if ctx is not None:
                ctx._cancel()
        elif kind == "credit":
            ctx = self.active.get(_check_id(msg.get("id"), kind))
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
            self.calls.append(_STOP)
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
        """Run calls one at a time until SIGTERM/shutdown or EOF. Never returns."""
        next_call, run = self._next_call, self._run
        while True:
            self.current = None
            if self.stopping:
                self._drain_and_exit()
            try:
                ctx = next_call()
            except BaseException as exc:  # noqa: BLE001
                self._reading_ended(exc, "main thread reading fd 3")
            self.current = ctx
            if ctx is _STOP:
                self.stopping = True
                continue
            if ctx.stream:
                self._wake_helper(True)  # it may wait for credit: read fd 3 from the start
            run(ctx)

    def _drain_and_exit(self):
        try:
            with self._read_lock:  # calls already sent are refused, not lost: read what fd 3 holds now
                ready = _waiters(self.in_fd)[1]
                while ready():
                    self._frames.fill()
                    self._drain()
        except Exception:  # noqa: BLE001 (EOF or corruption: answer what was read, then exit anyway)
            pass
        calls = self.calls
        while calls:
            ctx = calls.popleft()
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


def _waiters(fd):
    """(wait up to ms for fd to be readable, is it readable now?): poll(), or select() where it is missing."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poll = poller.poll
        return poll, lambda: poll(0)
    fds = [fd]
    return (lambda ms: select.select(fds, (), (), ms / 1000)[0]), lambda: select.select(fds, (), (), 0)[0]


def _check_count(value, what):
    if type(value) is not int or value < 1:
        raise ProtocolViolation(f"{what} must be an integer >= 1, got {value!r}")
    return value


def _check_id(value, kind):
    if type(value) is not int or not 0 <= value <= MAX_LEN:
        raise ProtocolViolation(f"{kind} with a missing or invalid id: {value!r}")
    return value
