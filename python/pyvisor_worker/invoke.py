"""Running a call's handler on the main thread and turning what it does into answer frames.

A handler may return a value, a coroutine, a generator or an async generator, and may be called
for one result or as a stream (`chunk`... `end`, with credit when the host set a window). Whatever
happens, each call gets exactly one final frame (`result`, `end` or `error`) and the worker lives
on: a handler's exception becomes an `error` (SystemExit too: sys.exit() in a handler fails its
call, as argparse does on bad input, rather than ending the worker), a value the codec cannot
carry becomes `pyvisor.Unserializable`.

Most calls run to their answer inside `run()`. With `background` on (`--concurrency` above 1), a
coroutine outside a stream instead becomes a task on the one persistent event loop and `run()`
returns True at once: the task answers the call when the handler ends, then calls `released()`
(schedule.py decides when the loop runs and what starts next).

Cancelling: a coroutine, and each step of an async generator, runs as an asyncio task held in
`ctx._task`, which a `cancel` cancels (context.py); a CancelledError that ends a cancelled call is
answered as cancelled: `end` for a stream, else `error` of type `pyvisor.Cancelled`. A sync
handler, and each step of a sync generator, runs armed (cancel.py): a `cancel` raises `Cancelled`
in its frame, answered the same way. So does each step of a coroutine (armed.py, with a guard), but
only one still running STEP_GRACE after the `cancel` was read (cancel.py): it raises there, as a
Cancelled that is also a CancelledError, and its task ends as cancelled. A call cancelled before
it started gets that same answer without its handler ever running.
"""
import time
from types import AsyncGeneratorType, CoroutineType, GeneratorType

from .armed import Armed
from .batching import StreamSender
from .cancel import Cancelled, async_cancelled
from .errors import error_type, format_tracebacks
from .protocol import DEFAULT_MAX_FRAME_BYTES, UnserializableError
from .registry import REGISTRY, handler_names

_SPECIAL = frozenset((GeneratorType, CoroutineType, AsyncGeneratorType))
CANCELLED = "pyvisor.Cancelled"


class _NotImported(BaseException):
    """Stands for asyncio.CancelledError until asyncio is imported: nothing raises it."""


class Invoker:
    """Runs calls (Contexts) and answers them through `writer`.

    Each call's id leaves `active` (call id -> Context) before its final frame is sent: once the
    host has the answer it may reuse the id, and a stray `cancel` or `credit` must not reach the
    old call.
    """

    def __init__(self, writer, active, background=False, batching=False, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES,
                 clock=time.perf_counter, guard=None):
        self.writer = writer
        # cancel.Guard: a `cancel` raises Cancelled in a sync handler's frame, or a coroutine's step
        # (armed.py), while it runs. None (in-process tests): they see ctx.cancelled, tasks are cancelled.
        self.guard = guard
        self.active = active
        self.background = background  # coroutines outside streams run as tasks; run() returns at once
        # A streaming generator's items may go out as `chunks` batches (batching.py): only when the
        # host offered the feature in `welcome`. Batches stay under the host's frame limit.
        self.batching = batching
        self.max_frame_bytes = max_frame_bytes
        self.clock = clock
        self.released = None  # background: called by a task once its call is answered
        self.loop = None  # one asyncio loop for all async handlers, created on first use
        self.CancelledError = _NotImported
        self._ensure_future = None
        self._async_cancelled = None  # cancel.async_cancelled(), once asyncio is imported

    def run(self, ctx):
        """Run ctx's handler and answer it. True when it goes on as a task (background), else None."""
        entry = REGISTRY.get(ctx.name) if type(ctx.name) is str else None
        if entry is None:
            self.fail(ctx, "pyvisor.UnknownHandler",
                      f"no handler named {ctx.name!r}; available: {', '.join(handler_names()) or '(none)'}", "")
            return
        fn, wants_ctx = entry
        args = ctx.args
        try:
            kind = type(args)
            if kind is not dict and kind is not list and args is not None:
                self.fail(ctx, "pyvisor.InvalidArguments",
                          f"args must be a map, an array or absent, not {kind.__name__}", "",
                          detail={"parameter": "args", "expected": "dict | list | None"})
                return
            guard = self.guard
            if guard is None:
                value = _apply(fn, ctx, wants_ctx, args, kind)
            else:
                # Armed only while the handler frame runs; whatever Cancelled is delivered before
                # disarm() returns lands in this try (cancel.py), and nothing is pending after it.
                try:
                    guard.arm(ctx)
                    value = _apply(fn, ctx, wants_ctx, args, kind)
                finally:
                    guard.disarm()
            if type(value) in _SPECIAL:
                if type(value) is CoroutineType:
                    if self.background and not ctx.stream:
                        self._start_task(ctx, value)
                        return True
                    loop = self.loop or self._event_loop()
                    value = self._until_done(ctx, loop.create_task(self._armed(ctx, value)), loop)
                else:
                    self._iterate(ctx, value)
                    return
        except BaseException as exc:  # noqa: BLE001 (a handler failure never ends the worker, SystemExit included)
            self._fail_with(ctx, exc)
            return
        if ctx.stream:
            if value is not None:  # a plain handler under stream: its return value is the last item
                try:
                    self._stream_item(ctx, value)
                except UnserializableError as exc:
                    self._fail_with(ctx, exc)
                    return
            self._finish(ctx, {"kind": "end", "id": ctx.id})
        elif ctx._trace is None:
            self._result(ctx, value)
        else:
            self._finish(ctx, {"kind": "result", "id": ctx.id, "value": value})

    def _result(self, ctx, value):
        """_finish for a plain result without spans: the frame most calls end with, on its short path."""
        self.active.pop(ctx.id, None)
        try:
            self.writer.send_result(ctx.id, value)
        except UnserializableError as exc:
            self.fail(ctx, exc.pyvisor_type,
                      f"cannot send the result of {ctx.name!r} with {self.writer.codec.name}: {exc}", "")

    def fail(self, ctx, type_, message, tb, full_tb=None, detail=None):
        """Answer ctx with an `error` frame; it always goes out, even with unencodable text.
        `full_tb`: the traceback with the runtime's frames, when `tb` leaves some out. `detail`: extra
        str fields of the frame (`parameter`, `expected` for pyvisor.InvalidArguments)."""
        self.active.pop(ctx.id, None)
        msg = {"kind": "error", "id": ctx.id, "type": type_, "message": message, "traceback": tb}
        if full_tb is not None:
            msg["fullTraceback"] = full_tb
        if detail:
            msg.update(detail)
        if ctx._trace is not None:
            ctx._trace.attach(msg)
        try:
            self.writer.send(msg)
        except UnserializableError:  # e.g. lone surrogates in a message: escape them
            for key in ("type", "message", "traceback", "fullTraceback", *(detail or ())):
                if key in msg:
                    msg[key] = str(msg[key]).encode("utf-8", "backslashreplace").decode("utf-8")
            self.writer.send(msg)

    def cancelled(self, ctx, message):
        """Answer a cancelled call: `end` for a stream, else a `pyvisor.Cancelled` error."""
        if ctx.stream:
            self._finish(ctx, {"kind": "end", "id": ctx.id})
        else:
            self.fail(ctx, CANCELLED, message, "")

    def cancel_queued(self, ctx):
        """A `cancel` for a call that never left the queue: answered now, its handler never runs."""
        ctx._cancelled = True
        self.cancelled(ctx, f"call {ctx.id} was cancelled before it started")

    def _fail_with(self, ctx, exc):
        if ctx._cancelled and isinstance(exc, (self.CancelledError, Cancelled)):
            self.cancelled(ctx, f"call {ctx.id} was cancelled")
            return
        if isinstance(exc, SystemExit):
            # argparse, click and friends exit on bad input: that must not take the worker down.
            message = (f"the handler called sys.exit({exc.code!r}); in a handler that fails the call and "
                       "the worker lives on (os._exit() ends a worker)")
        else:
            try:
                message = str(exc)
            except Exception:  # noqa: BLE001
                message = repr(exc)
        # The runtime's own errors with a `pyvisor_detail` (checks.py) have no traceback worth reading.
        detail = getattr(exc, "pyvisor_detail", None)
        if detail:
            self.fail(ctx, error_type(exc), message, "", None, detail)
        else:
            user, full = format_tracebacks(exc)
            self.fail(ctx, error_type(exc), message, user, full)

    def _finish(self, ctx, msg):
        self.active.pop(ctx.id, None)
        if ctx._trace is not None:
            ctx._trace.attach(msg)
        try:
            self.writer.send(msg)
        except UnserializableError as exc:  # FrameTooLarge too: the worker serves on either way
            self.fail(ctx, exc.pyvisor_type,
                      f"cannot send the result of {ctx.name!r} with {self.writer.codec.name}: {exc}", "")

    def _stream_item(self, ctx, value):
        """Send one chunk (waiting for credit); False if the call was cancelled meanwhile."""
        try:
            return ctx._send_chunk(value)
        except UnserializableError as exc:
            raise self._item_error(ctx, exc) from None

    def _item_error(self, ctx, exc):
        return UnserializableError(f"cannot encode a stream item of {ctx.name!r} with {self.writer.codec.name}: {exc}")

    def _flush_held(self, ctx, sender):
        """Send the items a sender holds before the call's final frame; an item that does not encode
        becomes the call's error (raised)."""
        try:
            sender.flush()
        except UnserializableError as exc:
            raise self._item_error(ctx, exc) from None

    def _start_task(self, ctx, coro):
        """Background: the call goes on as a task that answers it, then frees its slot."""
        loop = self.loop or self._event_loop()
        ctx._task = loop.create_task(self._settle(ctx, self._armed(ctx, coro)))
        if ctx._cancelled:  # cancelled while being started: after the task's first step, like any cancel
            loop.call_soon(ctx._cancel_task)

    def _armed(self, ctx, awaitable):
        """The coroutine (or async generator step) whose steps run armed (armed.py); as it is
        without a guard."""
        guard = self.guard
        return awaitable if guard is None else Armed(awaitable, ctx, guard, self._async_cancelled)

    async def _settle(self, ctx, coro):
        try:
            try:
                value = await coro
            except GeneratorExit:  # the task itself is being destroyed: nobody left to answer
                raise
            except BaseException as exc:  # noqa: BLE001 (CancelledError too: see _fail_with)
                self._fail_with(ctx, exc)
            else:
                self._finish(ctx, {"kind": "result", "id": ctx.id, "value": value})
        finally:
            ctx._task = None
            self.released()

    def _until_done(self, ctx, task, loop):
        """Run task to its end on the loop, where a `cancel` can reach it through ctx._task."""
        ctx._task = task
        if ctx._cancelled:
            loop.call_soon(ctx._cancel_task)
        try:
            return loop.run_until_complete(task)
        finally:
            ctx._task = None

    def _iterate(self, ctx, gen):
        """Generators: chunks when streaming, else one list. Checks ctx.cancelled between items;
        a cancel also interrupts an async generator at its current await, or in its running step.

        Streaming with `batching` on, items go through a StreamSender, which may hold some while
        the generator is ahead (batching.py); whatever ends the stream, held items go out first.
        An async generator's step that suspends has them sent at once (flush_if_suspended)."""
        is_async = type(gen) is AsyncGeneratorType
        loop = (self.loop or self._event_loop()) if is_async else None
        items = None if ctx.stream else []
        sender = None
        if items is None and self.batching:
            sender = ctx._sender = StreamSender(ctx, self.writer, self.clock, self.max_frame_bytes)
        try:
            try:
                while not ctx._cancelled:
                    if is_async:
                        step = self._ensure_future(self._armed(ctx, _anext(gen)), loop=loop)
                        if sender is not None and sender.items:
                            loop.call_soon(sender.flush_if_suspended, step)
                        try:
                            item = self._until_done(ctx, step, loop)
                        except StopAsyncIteration:
                            break
                        except self.CancelledError:
                            if ctx._cancelled:
                                break  # the step was cancelled: stop as between items
                            raise
                        finally:
                            if sender is not None and sender.error is not None:
                                error, sender.error = sender.error, None
                                raise self._item_error(ctx, error)
                    else:
                        try:
                            item = self._step(ctx, gen)
                        except StopIteration:
                            break
                        except Cancelled:
                            if ctx._cancelled:
                                break  # raised in the step by a cancel: stop as between items
                            raise
                    if sender is not None:
                        try:
                            if not sender.add(item):
                                break  # cancelled
                        except UnserializableError as exc:
                            raise self._item_error(ctx, exc) from None
                    elif items is None:
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
            if sender is not None:
                self._flush_held(ctx, sender)
        except BaseException as exc:  # noqa: BLE001
            if sender is not None:  # the items before the failure arrive before the error
                try:
                    self._flush_held(ctx, sender)
                except UnserializableError as flush_exc:
                    exc = flush_exc
            self._fail_with(ctx, exc)
            return
        finally:
            ctx._sender = None
        if items is None:
            self._finish(ctx, {"kind": "end", "id": ctx.id})
        else:
            self._finish(ctx, {"kind": "result", "id": ctx.id, "value": items})

    def _step(self, ctx, gen):
        """One item of a sync generator: its frame runs armed, like a sync handler's (run)."""
        guard = self.guard
        if guard is None:
            return next(gen)
        try:
            guard.arm(ctx)
            return next(gen)
        finally:
            guard.disarm()

    def _event_loop(self):
        """Persistent so handlers may keep loop-bound objects between calls; lazy because asyncio is slow to import."""
        if self.loop is None:
            import asyncio  # noqa: PLC0415

            self.CancelledError = asyncio.CancelledError
            self._ensure_future = asyncio.ensure_future
            self._async_cancelled = async_cancelled()
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
        return self.loop


async def _anext(gen):
    """An async generator's next item as a coroutine: one Armed can tell has ended or not (armed.py)."""
    return await gen.__anext__()


def _apply(fn, ctx, wants_ctx, args, kind):
    if kind is dict:
        return fn(ctx, **args) if wants_ctx else fn(**args)
    if kind is list:
        return fn(ctx, *args) if wants_ctx else fn(*args)
    return fn(ctx) if wants_ctx else fn()
