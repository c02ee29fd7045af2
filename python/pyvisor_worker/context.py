"""The per-call Context a handler may ask for, and the errors handlers can see.

One Context is created per incoming call by whichever thread reads fd 3 and doubles as the queue item the
main thread picks up, so a call costs a single small allocation. It reaches the host only through
its Link (link.py), never the runtime itself; it holds no locks of its own beyond a stream's credit.
While an `async def` handler runs, the Context also holds the asyncio task running it, so that a
`cancel` read by either thread cancels that task on the loop's own thread, unless the cancel was
raised in the coroutine's step already (armed.py, cancel.py): it reaches the coroutine once.
"""
import threading
from time import monotonic

LOG_LEVELS = ("debug", "info", "warning", "error")


class HostCallError(Exception):
    """The host's handler for a ctx.call_host() failed; carries the host-side type and message."""

    def __init__(self, type, message):  # noqa: A002 (mirrors the wire field)
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message


class HostCallTimeout(TimeoutError):
    """ctx.call_host(timeout=...) elapsed before the host answered."""


class Context:
    """What a handler knows about its call: ids, deadline, cancellation, and a line to the host.

    `deadline` is when the host gives up on the call (its `timeoutMs`, or its session's default), as
    a `time.monotonic()` value, or None without a timeout; `time_left()` is what remains of it, in
    seconds. A call without one gets one from `ctx.programs.get` of a program with a default timeout.

    Stream flow control lives here too: a stream call with a `window` may send that many items,
    each `credit {n}` from the host allows n more, and a producer without credit blocks until the
    host grants some or cancels. Calls without a window pay nothing for it. A streaming generator's
    items go through a StreamSender (batching.py), which takes the same credit per item and may
    hold a few items while the generator is ahead; emit, log and call_host send those first.
    """

    __slots__ = ("id", "name", "args", "session", "deadline", "stream", "_cancelled", "_link", "_window", "_credit",
                 "_lock", "_cond", "_task", "_reached", "_sender", "_traceparent", "_trace", "_program_deadline")

    def __init__(self, link, msg):
        self._link = link
        self.id = msg.get("id")
        self.name = msg.get("name")
        self.args = msg.get("args")
        self.session = msg.get("session")
        budget = msg.get("deadline")  # ms left when the host sent it (dispatch.py checked it)
        self.deadline = None if budget is None else monotonic() + budget / 1000
        self._program_deadline = False  # deadline was set by a program's default (programs.py), not the host
        self._cancelled = False
        self.stream = msg.get("stream") is True
        window = msg.get("window") if self.stream else None
        self._window = self._credit = window  # None: unbounded stream (or not a stream)
        if window is None:
            self._lock = self._cond = None
        else:  # the lock guards _credit; the condition on it wakes a producer waiting for credit
            self._lock = threading.Lock()
            self._cond = threading.Condition(self._lock)
        self._task = None  # the asyncio task running this call's coroutine (or async generator step), if any
        self._reached = False  # the cancel reached that coroutine: raised in a step, or its task cancelled
        self._sender = None  # a streaming generator's StreamSender (batching.py), which may hold items
        self._traceparent = msg.get("traceparent")  # the host's call span, when its pool traces calls
        self._trace = None  # ctx.trace, made on first use; invoke.py puts its spans on the final frame

    def __repr__(self):
        return f"<Context id={self.id} name={self.name!r} session={self.session!r}>"

    @property
    def cancelled(self):
        """True once the host sent `cancel` for this call; the handler decides how to stop.

        The handler is also interrupted. A sync handler (or generator) running Python code gets
        `pyvisor_worker.Cancelled` raised where it is (cancel.py); one blocked in C (time.sleep, a
        socket read) sees it when that returns. An `async def` handler (or async generator) gets
        asyncio.CancelledError at the `await` it is suspended in, or reaches next; one whose step
        still runs Python code 50 ms after the cancel (`while True: pass` never awaits) gets it
        where it runs, as an exception that is both a CancelledError and a Cancelled (armed.py).
        Either way its `finally` blocks run.
        """
        return self._cancelled

    def time_left(self):
        """Seconds left before the host gives up on this call (>= 0), or None without a timeout.

        `ctx.deadline` is the same moment as a `time.monotonic()` value. Pass the budget on, so
        work the host no longer waits for is not started:

            requests.get(url, timeout=ctx.time_left())
        """
        deadline = self.deadline
        if deadline is None:
            return None
        return max(0.0, deadline - monotonic())

    @property
    def store(self):
        """The host store in this call's scope (its session, or global without one); see store.py."""
        from .store import Store  # noqa: PLC0415 (imported on first use: workers without it start faster)

        return Store(self)

    @property
    def trace(self):
        """Child spans of the host's call span: `with ctx.trace.span("step", {"rows": 3}):`; see trace.py.

        No-ops when the host does not trace this call; `ctx.trace.traceparent` is its W3C context.
        """
        trace = self._trace
        if trace is None:
            from .trace import Trace  # noqa: PLC0415 (imported on first use)

            trace = self._trace = Trace(self._traceparent)
        return trace

    @property
    def programs(self):
        """Programs stored in this call's scope, built once per worker; see programs.py."""
        from .programs import Programs  # noqa: PLC0415

        return Programs(self)

    def emit(self, value):
        """Send one stream item, waiting for credit if the host's window is full.

        Returns False, sending nothing, once the call is cancelled. Only valid in a stream call.
        """
        if not self.stream:
            raise RuntimeError("ctx.emit() needs a stream call (pool.stream); this call expects one result")
        if not self._link.is_open(self):
            raise RuntimeError(f"call {self.id} has already been answered; its stream is closed")
        guard = self._link.guard
        owed = None if guard is None else guard.pause(self)
        try:
            if self._sender is not None:
                self._sender.flush_here()  # items the generator yielded before this one go first
            return self._send_chunk(value)
        finally:
            if owed is not None:
                guard.resume(self, owed)

    def _send_chunk(self, value):
        if self._cond is not None and not self._wait_credit():
            return False
        if self._cancelled:
            return False
        self._link.send({"kind": "chunk", "id": self.id, "value": value})
        return True

    def _wait_credit(self):
        """Take one item's credit, waiting for the host to grant some; False once cancelled."""
        with self._cond:
            while self._credit <= 0 and not self._cancelled:
                self._cond.wait()
            if self._cancelled:
                return False
            self._credit -= 1
            return True

    # Called by the thread reading fd 3.
    def _grant(self, n):
        if self._cond is not None:
            with self._cond:
                self._credit += n
                self._cond.notify()

    def _cancel(self):
        self._cancelled = True
        if self._cond is not None:
            with self._cond:
                self._cond.notify()
        # Read after _cancelled is set; whoever starts a task sets _task before reading _cancelled
        # (invoke.py), so one of the two always cancels it. task.cancel is not thread-safe: the
        # loop's thread runs it (a task already done ignores it).
        task = self._task
        if task is not None:
            task.get_loop().call_soon_threadsafe(self._cancel_task)

    def _cancel_task(self):
        """On the loop's thread, between steps: cancel the call's task (the current one, for an
        async generator's steps), unless the cancel was raised in a step of it already (cancel.py);
        no step runs now, so no raise for this call can be under way meanwhile."""
        task = self._task
        if task is not None and not self._reached:
            self._reached = True
            task.cancel()

    def log(self, level, message):
        """A line for the host's log, separate from stdout/stderr."""
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        text = str(message)  # user code (__str__) runs before the pause, where Cancelled may land
        guard = self._link.guard
        owed = None if guard is None else guard.pause(self)
        try:
            if self._sender is not None:
                self._sender.flush_here()  # a log line between items arrives between them
            self._link.send({"kind": "log", "level": level, "message": text})
        finally:
            if owed is not None:
                guard.resume(self, owed)

    def call_host(self, name, args=None, timeout=None):
        """Run host handler `name` and block until it answers; returns its value.

        Raises HostCallError when the host handler fails, HostCallTimeout after `timeout` seconds.
        """
        guard = self._link.guard
        owed = None if guard is None else guard.pause(self)
        try:
            if self._sender is not None:
                self._sender.flush_here()  # held items do not wait for the host's answer
            return self._link.call_host(name, args, timeout, self.id)
        finally:
            if owed is not None:
                guard.resume(self, owed)


# Public classes report their public home (error `type` on the wire, reprs): pyvisor_worker.X.
for _cls in (Context, HostCallError, HostCallTimeout):
    _cls.__module__ = "pyvisor_worker"
