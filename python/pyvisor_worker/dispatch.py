"""What each frame from the host does to this worker.

Runs on whichever thread holds fd 3 (fd3.py), possibly while a handler runs, so nothing here may
block or run user code: a frame is answered at once (`ping`, and `cancel` of a call still queued),
flips state that another thread waits on (`cancel` of a started call, `credit`, `host_result`,
`host_error`), or queues work for the main thread in stream order (`call`, `shutdown`), telling
the scheduler (`queued`, schedule.py) in case it waits in the event loop. Anything malformed
raises ProtocolViolation: a host that sends it cannot be trusted, and the reader exits with code 3.
"""
from .context import Context
from .protocol import MAX_LEN, ProtocolViolation

STOP = object()  # queued by a `shutdown` frame: calls before it are run, calls after it refused


class Dispatcher:
    """Decodes a payload and applies it: to `calls` (the main thread's queue), `active` (call id ->
    Context, so cancel and credit find queued and running calls), `host_calls`, or a direct answer
    through `writer`. New Contexts get `link`. `cancel_queued(ctx)` answers a call cancelled before
    it started; `queued()`, if given, is called after a call or `shutdown` was queued;
    `interrupt(ctx)`, if given, is called for a started call the host cancels."""

    def __init__(self, writer, link, calls, active, host_calls, cancel_queued, queued=None, interrupt=None):
        self.writer = writer
        self.link = link
        self.calls = calls
        self.active = active
        self.host_calls = host_calls
        self.cancel_queued = cancel_queued
        self.queued = queued
        self.interrupt = interrupt  # cancel.Guard.interrupt: raises Cancelled in a running handler or coroutine step
        self._kinds = {"call": self._call if queued is None else self._call_and_tell, "ping": self._ping,
                       "cancel": self._cancel, "credit": self._credit, "host_result": self._host_answer,
                       "host_error": self._host_answer, "shutdown": self._shutdown}

    def dispatch(self, payload):
        codec = self.writer.codec
        try:
            msg = codec.decode_frame(payload)
        except Exception as exc:  # noqa: BLE001 (any decoder failure is corruption)
            raise ProtocolViolation(f"undecodable {codec.name} payload: {exc}") from None
        if type(msg) is not dict:
            raise ProtocolViolation(f"message is not a map: {type(msg).__name__}")
        kind = msg.get("kind")
        apply = self._kinds.get(kind) if type(kind) is str else None
        if apply is None:
            # A newer host may speak kinds this worker does not know: tell, do not die.
            self.writer.log("warning", f"ignored message of unknown kind {kind!r}")
        else:
            apply(kind, msg)

    def _call(self, kind, msg):
        budget = msg.get("deadline")
        if budget is not None and (type(budget) not in (int, float) or not budget >= 0):
            raise ProtocolViolation(f"call deadline must be a number of ms >= 0, got {budget!r}")
        ctx = Context(self.link, msg)
        check_id(ctx.id, kind)
        if ctx._credit is not None:
            check_count(ctx._credit, "call window")
        self.active[ctx.id] = ctx
        self.calls.append(ctx)

    def _call_and_tell(self, kind, msg):
        self._call(kind, msg)
        self.queued()

    def _ping(self, kind, msg):
        self.writer.send({"kind": "pong", "id": check_id(msg.get("id"), kind)})

    def _cancel(self, kind, msg):
        ctx = self.active.get(check_id(msg.get("id"), kind))
        if ctx is None:  # late (already answered) or unknown: nothing to stop
            return
        # Taking it off the queue is atomic against the main thread taking it to start it: one wins.
        try:
            self.calls.remove(ctx)
        except ValueError:  # started: its handler is told (ctx.cancelled, its asyncio task cancelled)
            ctx._cancel()
            if self.interrupt is not None:  # and a handler (or coroutine step) running now gets Cancelled raised
                self.interrupt(ctx)
        else:  # never started and now never will: answered at once
            self.cancel_queued(ctx)

    def _credit(self, kind, msg):
        ctx = self.active.get(check_id(msg.get("id"), kind))
        n = check_count(msg.get("n"), "credit n")
        if ctx is not None:  # credit for a stream that already ended is normal: ignore it
            ctx._grant(n)

    def _host_answer(self, kind, msg):
        call_id = check_id(msg.get("id"), kind)
        ok = kind == "host_result"
        value = msg.get("value") if ok else (msg.get("type"), msg.get("message"))
        if not self.host_calls.complete(call_id, ok, value):
            self.writer.log("warning", f"{kind} for host call {call_id} that nobody waits for")

    def _shutdown(self, kind, msg):
        # In stream order: calls sent before it are finished, calls after it are refused.
        self.calls.append(STOP)
        if self.queued is not None:
            self.queued()


def check_count(value, what):
    if type(value) is not int or value < 1:
        raise ProtocolViolation(f"{what} must be an integer >= 1, got {value!r}")
    return value


def check_id(value, kind):
    if type(value) is not int or not 0 <= value <= MAX_LEN:
        raise ProtocolViolation(f"{kind} with a missing or invalid id: {value!r}")
    return value
