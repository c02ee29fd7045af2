"""Stopping a running handler: `Cancelled` raised in the main thread, inside the handler only.

A `cancel` for a started call is read by whichever thread holds fd 3; when the call is a sync
handler (or a sync generator's step), or a coroutine whose step runs now (armed.py), running Python
bytecode on the main thread, that reader asks CPython to raise `Cancelled` in the main thread
(`PyThreadState_SetAsyncExc`); in a coroutine's step (only one that does not await, see below) it
is the subclass from `async_cancelled()`, also an asyncio.CancelledError. CPython delivers
such an exception at the main thread's next check of its eval breaker: the next loop iteration or
function call, so a pure-Python loop stops within microseconds; code in C (time.sleep, blocking
I/O, a long numpy operation) does not check, and the host's `cancelGraceMs` kill covers it.

The hazard is an exception landing in the runtime's own code (half a frame written, a lock held).
So the Guard arms a call only while its handler frame runs, and three rules hold:

* the reader (for a coroutine's step, a timer it starts) raises only under the Guard's lock, only
  for the armed call, and at most once per call;
* the main thread disarms under the same lock and clears a raise still pending
  (`SetAsyncExc(tid, NULL)`), so nothing is pending once `disarm` has returned; whatever is
  delivered before that is inside the `try` that answers the call (invoke.py), never later;
* runtime code that a handler calls (`ctx.emit`, `ctx.log`, `ctx.call_host`) runs `paused`: a
  pending raise is taken back first and, if it was taken back, raised again once that code is done,
  so it lands in the handler's frame, never in a half-written frame.

A coroutine is armed step by step (armed.py), and its cancel must reach it once: through its
asyncio task at the `await` it is suspended in (context.py), as asyncio delivers cancels; or, when
its step is still running `STEP_GRACE` after the `cancel` was read (it never awaits), raised in
that step (`_raise_late`, from a timer thread). `ctx._reached` says it did: the late raise and the
task's cancel each happen only while it is False and set it, `disarm` clears it again when it takes
a raise back (the task is cancelled instead), and a step armed after the `cancel` was read but
before its task was cancelled is told so by `arm_step`, and gets it thrown in at its start.

`Cancelled.__init__` records the delivery (CPython builds the instance before any `except` or
`finally` of the handler runs), which is how `pause` knows whether a raise is still pending.
"""
import threading

try:
    import ctypes

    _set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    _set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
    _set_async_exc.restype = ctypes.c_int
    _NULL = ctypes.py_object()  # a NULL PyObject*: clears a pending async exception
except Exception:  # noqa: BLE001 (no ctypes, e.g. a stripped build: cancel falls back to ctx.cancelled and the kill)
    _set_async_exc = None
    _NULL = None


class Cancelled(BaseException):
    """Raised inside a handler whose call the host cancelled (timeout, abort, stream left), where
    it runs Python code: in a sync handler or generator step; in an `async def` handler or async
    generator only if its step still runs, without reaching an `await`, 50 ms after the cancel came
    (`while True: pass`; otherwise asyncio.CancelledError arrives at the `await`, as usual). There
    it is also an asyncio.CancelledError, so `except asyncio.CancelledError:` catches it either way.

    A BaseException, like asyncio.CancelledError, so `except Exception` does not swallow it; let it
    propagate after cleaning up (`finally` blocks run). The call is answered as cancelled.

        @handler
        def crunch(n):
            try:
                while True:
                    n += 1
            except Cancelled:
                release_resources()
                raise
    """

    pyvisor_type = "pyvisor.Cancelled"

    def __init__(self, *args):
        super().__init__(*args or ("the call was cancelled",))
        guard = _GUARD
        if guard is not None and threading.get_ident() == guard.tid:
            guard.delivered = True


Cancelled.__module__ = "pyvisor_worker"
_ASYNC_CANCELLED = None


def async_cancelled():
    """The class raised in a running coroutine step: Cancelled and asyncio.CancelledError at once,
    so the handler's cleanup for either catches it, and its task ends as cancelled. Made on first
    use: asyncio is slow to import."""
    global _ASYNC_CANCELLED
    if _ASYNC_CANCELLED is None:
        import asyncio  # noqa: PLC0415

        class CancelledInTask(Cancelled, asyncio.CancelledError):
            __doc__ = Cancelled.__doc__

        CancelledInTask.__module__ = "pyvisor_worker"
        _ASYNC_CANCELLED = CancelledInTask
    return _ASYNC_CANCELLED


_GUARD = None  # the process's Guard (one main thread, one armed call at a time)
# A coroutine's step still running this long (seconds) after its call's cancel was read gets it
# raised where it runs; a shorter step meets it at its next `await`, where asyncio delivers it.
STEP_GRACE = 0.05


class Guard:
    """Which call may be interrupted now. One per worker; the main thread arms, any thread interrupts."""

    def __init__(self, main_thread_id=None, raise_in=None, step_grace=STEP_GRACE, timer=threading.Timer):
        global _GUARD
        self.tid = threading.main_thread().ident if main_thread_id is None else main_thread_id
        self._raise_in = raise_in if raise_in is not None else _set_async_exc  # injectable for tests
        self._lock = threading.Lock()
        self.armed = None  # the Context whose handler frame runs now, if any
        self.exc = Cancelled  # what a cancel raises in it (a coroutine step: async_cancelled())
        self.sent = False  # a raise was requested for the armed call
        self.delivered = False  # ... and CPython delivered it
        self.step = None  # the Context whose coroutine step runs now (paused or not), if any
        self.steps = 0  # coroutine steps armed so far: which step a late raise is meant for
        self.due = False  # the step's raise came while it was paused: `resume` raises it
        self.step_grace = step_grace
        self._timer = timer  # injectable for tests, like raise_in
        _GUARD = self

    @property
    def available(self):
        return self._raise_in is not None

    # --- main thread -----------------------------------------------------------------------------

    def arm(self, ctx):
        """Called right before the handler frame runs: from now on a cancel raises in it."""
        # No lock: `sent` can only be set by interrupt() once `armed` is ctx, which is written last.
        self.sent = self.delivered = False
        self.exc = Cancelled
        self.armed = ctx
        if ctx._cancelled:  # cancelled between being taken off the queue and now: raise it ourselves
            with self._lock:
                self.armed = None
                if self.sent:  # the reader raised too, just now: take that one back
                    self._raise_in(self.tid, _NULL)
                self.sent = True
            raise Cancelled(f"call {ctx.id} was cancelled")

    def arm_step(self, ctx, exc):
        """Called right before a coroutine's step runs (armed.py): a cancel may raise `exc` in it.
        True when the call's cancel was read but has not reached it yet (neither raised in an
        earlier step nor through its task): the caller throws it into the step at once, where the
        coroutine waits, as asyncio would once the task is cancelled."""
        self.sent = self.delivered = self.due = False
        self.exc = exc
        self.steps += 1
        self.step = ctx  # before `armed`: a reader that sees it armed sees it is a step (interrupt)
        self.armed = ctx
        if ctx._cancelled and not ctx._reached:
            with self._lock:  # a late raise may be under way just now: then that one counts
                if not ctx._reached:
                    ctx._reached = True
                    return True
        return False

    def disarm(self):
        """Called once the handler frame is done; afterwards nothing is pending for this thread."""
        with self._lock:  # an interrupt() under way has sent, and says so in `sent`, before we look
            ctx, self.armed, self.step = self.armed, None, None
            if self.sent and not self.delivered:
                self._raise_in(self.tid, _NULL)
                if ctx is not None:
                    ctx._reached = False  # taken back: its task is cancelled instead (context.py)

    def pause(self, ctx):
        """Before runtime code a handler calls; returns a token for `resume` (None: nothing to do).
        Only the main thread pauses: a thread of the handler's own is never the target of a raise."""
        if self.armed is not ctx or threading.get_ident() != self.tid:
            return None
        with self._lock:
            self.armed = None
            owed = self.sent and not self.delivered
            if owed:
                self._raise_in(self.tid, _NULL)
        return owed

    def resume(self, ctx, owed):
        """After that runtime code: armed again. A raise taken back by `pause`, or a cancel that
        came while paused (the reader skipped it), is raised now, once. In a coroutine's step,
        only a late raise (`_raise_late`) that came while paused: else its task gets the cancel."""
        if owed is None:
            return
        with self._lock:
            self.armed = ctx
            if self.step is ctx:
                owed = owed or self.due
                self.due = False
            else:
                owed = owed or (ctx._cancelled and not self.sent)
            if owed:
                self.sent = True
        if owed:
            raise self.exc(f"call {ctx.id} was cancelled")

    # --- any thread (the reader of fd 3) ---------------------------------------------------------

    def interrupt(self, ctx):
        """The host cancelled ctx: raise in its handler if it runs now. True if a raise was requested.

        A coroutine's running step is not interrupted at once: its task is being cancelled
        (context.py), which reaches it at its next `await`, as asyncio delivers cancels, so code
        between two awaits runs whole. Only if the same step still runs `step_grace` later (it
        does not await: `while True: pass`) is the cancel raised in it (`_raise_late`)."""
        # The main thread reads fd 3 only while no sync handler runs; never raise in its own dispatch.
        if self._raise_in is None or threading.get_ident() == self.tid:
            return False
        if self.armed is not ctx and self.step is not ctx:
            return False
        with self._lock:
            armed = self.armed  # read before `step`, which arm_step writes first
            if self.step is ctx:  # a coroutine's step, armed or paused: raise later, if at all
                if ctx._reached:
                    return False
                step = self.steps
            else:
                if armed is not ctx or self.sent or ctx._reached:
                    return False
                self.sent = ctx._reached = True
                self._raise_in(self.tid, self.exc)
                return True
        timer = self._timer(self.step_grace, self._raise_late, (ctx, step))
        timer.daemon = True
        timer.start()
        return False

    def _raise_late(self, ctx, step):
        """`step_grace` after ctx's cancel was read during coroutine step `step`: if that step still
        runs, raise in it (or, paused in runtime code, when it resumes). True if it did."""
        with self._lock:
            if self.step is not ctx or self.steps != step or ctx._reached:
                return False
            ctx._reached = True
            if self.armed is ctx:
                self.sent = True
                self._raise_in(self.tid, self.exc)
            else:
                self.due = True
            return True
