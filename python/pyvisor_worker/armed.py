"""A coroutine whose steps run armed: a cancel raises in the step running now (cancel.py).

An asyncio task advances a coroutine one step at a time (`send`, or `throw` to deliver an
exception), and between steps the coroutine waits in an `await`, where cancelling its task reaches
it. A step that never awaits (`while True: pass`) can only be stopped by an exception raised in
it, so `Armed` arms the call's Guard around each step of the coroutine it wraps, as invoke.py does
around a sync handler, and disarms it before the loop or the runtime's own code runs again. Only
the stepping coroutine is armed: with several tasks in flight, the others are suspended. The Guard
raises only in a step still running `STEP_GRACE` after the cancel was read (cancel.py): a step
that reaches its next `await` before then gets the cancel there, from its task, as in asyncio.

The exception raised in a step is `async_cancelled()`: the task then ends as cancelled, and the
coroutine's `except asyncio.CancelledError:` and `except Cancelled:` both see it. A cancel read
while no step of the call ran, but that a step would meet before its task is cancelled (the loop
runs the cancel once the step is over: too late for one that never ends), is thrown into that step
(`Guard.arm_step`). One that lands in the few lines around the step, not in the coroutine, is
thrown into the coroutine too, so it ends as if raised there, its `finally` blocks running.

        task = loop.create_task(Armed(coro, ctx, guard, async_cancelled()))
"""
from collections.abc import Coroutine

from .cancel import Cancelled


class Armed(Coroutine):
    """Wraps coroutine `inner` (a handler's, or one async generator step's) for `ctx`."""

    __slots__ = ("_inner", "_ctx", "_guard", "_exc")

    def __init__(self, inner, ctx, guard, exc):
        self._inner = inner
        self._ctx = ctx
        self._guard = guard
        self._exc = exc

    def send(self, value):
        guard = self._guard
        try:
            try:
                if guard.arm_step(self._ctx, self._exc):
                    return self._inner.throw(self._exc(f"call {self._ctx.id} was cancelled"))
                return self._inner.send(value)
            finally:
                guard.disarm()
        except Cancelled as exc:
            return self._landed(exc)

    def throw(self, typ, val=None, tb=None):
        guard = self._guard
        try:
            try:
                if guard.arm_step(self._ctx, self._exc):
                    return self._inner.throw(self._exc(f"call {self._ctx.id} was cancelled"))
                if val is None and tb is None:
                    return self._inner.throw(typ)
                return self._inner.throw(typ, val, tb)  # a delegating `await` passes all three
            finally:
                guard.disarm()
        except Cancelled as exc:
            return self._landed(exc)

    def _landed(self, exc):
        """A Cancelled out of a step: the coroutine's own (it has ended), or raised into the lines
        around the step, while the coroutine was not running (it has not ended: it gets it now)."""
        if getattr(self._inner, "cr_frame", None) is None:
            raise exc
        return self.throw(exc)

    def close(self):
        return self._inner.close()

    def __await__(self):
        return self

    def __next__(self):  # `await Armed(...)` steps it with next() when there is no value to send
        return self.send(None)
