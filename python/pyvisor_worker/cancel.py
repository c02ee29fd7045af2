"""Stopping a running sync handler: `Cancelled` raised in the main thread, inside the handler only.

A `cancel` for a started call is read by whichever thread holds fd 3; when the call is a sync
handler (or a sync generator's step) running Python bytecode on the main thread, that reader asks
CPython to raise `Cancelled` in the main thread (`PyThreadState_SetAsyncExc`). CPython delivers
such an exception at the main thread's next check of its eval breaker: the next loop iteration or
function call, so a pure-Python loop stops within microseconds; code in C (time.sleep, blocking
I/O, a long numpy operation) does not check, and the host's `cancelGraceMs` kill covers it.

The hazard is an exception landing in the runtime's own code (half a frame written, a lock held).
So the Guard arms a call only while its handler frame runs, and three rules hold:

* the reader raises only under the Guard's lock, only for the armed call, and at most once per call;
* the main thread disarms under the same lock and clears a raise still pending
  (`SetAsyncExc(tid, NULL)`), so nothing is pending once `disarm` has returned; whatever is
  delivered before that is inside the `try` that answers the call (invoke.py), never later;
* runtime code that a handler calls (`ctx.emit`, `ctx.log`, `ctx.call_host`) runs `paused`: a
  pending raise is taken back first and, if it was taken back, raised again once that code is done,
  so it lands in the handler's frame, never in a half-written frame.

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
    """Raised inside a sync handler whose call the host cancelled (timeout, abort, stream left).

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
_GUARD = None  # the process's Guard (one main thread, one armed call at a time)


class Guard:
    """Which call may be interrupted now. One per worker; the main thread arms, any thread interrupts."""

    def __init__(self, main_thread_id=None, raise_in=None):
        global _GUARD
        self.tid = threading.main_thread().ident if main_thread_id is None else main_thread_id
        self._raise_in = raise_in if raise_in is not None else _set_async_exc  # injectable for tests
        self._lock = threading.Lock()
        self.armed = None  # the Context whose handler frame runs now, if any
        self.sent = False  # a raise was requested for the armed call
        self.delivered = False  # ... and CPython delivered it
        _GUARD = self

    @property
    def available(self):
        return self._raise_in is not None

    # --- main thread -----------------------------------------------------------------------------

    def arm(self, ctx):
        """Called right before the handler frame runs: from now on a cancel raises in it."""
        # No lock: `sent` can only be set by interrupt() once `armed` is ctx, which is written last.
        self.sent = self.delivered = False
        self.armed = ctx
        if ctx._cancelled:  # cancelled between being taken off the queue and now: raise it ourselves
            with self._lock:
                self.armed = None
                if self.sent:  # the reader raised too, just now: take that one back
                    self._raise_in(self.tid, _NULL)
                self.sent = True
            raise Cancelled(f"call {ctx.id} was cancelled")

    def disarm(self):
        """Called once the handler frame is done; afterwards nothing is pending for this thread."""
        with self._lock:  # an interrupt() under way has sent, and says so in `sent`, before we look
            self.armed = None
            if self.sent and not self.delivered:
                self._raise_in(self.tid, _NULL)

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
        came while paused (the reader skipped it), is raised now, once."""
        if owed is None:
            return
        with self._lock:
            self.armed = ctx
            owed = owed or (ctx._cancelled and not self.sent)
            if owed:
                self.sent = True
        if owed:
            raise Cancelled(f"call {ctx.id} was cancelled")

    # --- any thread (the reader of fd 3) ---------------------------------------------------------

    def interrupt(self, ctx):
        """The host cancelled ctx: raise in its handler if it runs now. True if a raise was requested."""
        # The main thread reads fd 3 only while no sync handler runs; never raise in its own dispatch.
        if self._raise_in is None or self.armed is not ctx or threading.get_ident() == self.tid:
            return False
        with self._lock:
            if self.armed is not ctx or self.sent:
                return False
            self.sent = True
            self._raise_in(self.tid, Cancelled)
            return True
