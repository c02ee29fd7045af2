"""A streaming generator's items on their way out: one `chunk` at a time while the producer is
slow, `chunks` batches while it is clearly ahead (docs/protocol.md, "Batched stream items").

Why: a stream of small items costs the host one frame, one decode, one validation and one
dispatch per item; batched, those costs are paid once per frame. Why not always: an LLM's tokens,
one every 30 ms, must each reach the host as soon as it is yielded.

The rule, applied by the main thread to each item a streaming generator (sync or async) yields:

* An item that comes GAP (50 µs) or more after the producer last got control back from us, and
  the stream's first item, is sent at once, together with anything held (one frame). So a slow
  producer never waits for anything.
* An item that comes sooner means the producer is ahead: it is held. What is held is sent (one
  `chunks` frame; a `chunk` for a single item) as soon as
    - MAX_ITEMS are held, or half the call's window (so a consumer can always take enough to
      grant more credit), or about MAX_BYTES (str and bytes by their length, other items by the
      size per item of this stream's last batch, which caps the number of items);
    - the first held item has waited MAX_AGE (1 ms; looked at as each item comes);
    - the stream's credit is used up (never wait for credit while holding items);
    - the generator ends, fails or is cancelled (held items go out before `end` or `error`);
    - the handler, on the thread that runs the stream, emits, logs or calls the host;
    - an async generator's step suspends (a check runs right after the step's first slice).
* Worst case: a sync generator that is ahead and then blocks (a sleep, a socket read) keeps what
  it produced since the last send -- one batch, made within MAX_AGE -- until its next item or its
  end: those items are late by one slow step. Async generators and host calls do not have it.

Credit is counted per item, as for a lone `chunk`: the worker never has more than `window` items
sent or held and unacknowledged. To keep a lock off the per-item path, a batch takes the credit it
may use when it starts (at most its item cap) and gives back what it did not use when it is sent.
A batch that does not encode (an item the codec cannot carry) or would not fit the host's frame
limit goes out item by item, so the items before a bad one still arrive and the bad one raises as
it would unbatched.
"""
import threading
import time

from .protocol import DEFAULT_MAX_FRAME_BYTES, UnserializableError

GAP = 50e-6  # seconds between items below which the producer is ahead and items are held
MAX_AGE = 0.001  # seconds the first held item may wait, looked at as each item comes
MAX_ITEMS = 256  # items per batch at most
MAX_BYTES = 64 * 1024  # about this many encoded bytes per batch at most
_FIRST_ESTIMATE = 64  # encoded bytes per item assumed until a batch of this stream has been sent


class StreamSender:
    """Sends (or holds) the items of one stream call `ctx` through `writer` (send, encode,
    write_payload). `clock` gives seconds; `max_frame_bytes` is the host's frame limit."""

    __slots__ = ("ctx", "writer", "clock", "gap", "max_age", "max_items", "item_cap", "max_frame_bytes", "items",
                 "budget", "size", "first", "last", "per_item", "error", "thread")

    def __init__(self, ctx, writer, clock=time.perf_counter, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES, gap=GAP,
                 max_age=MAX_AGE):
        self.ctx = ctx
        self.writer = writer
        self.clock = clock
        self.gap = gap
        self.max_age = max_age
        window = ctx._window
        self.max_items = MAX_ITEMS if window is None else max(1, min(MAX_ITEMS, window // 2))
        self.per_item = _FIRST_ESTIMATE  # encoded bytes per item of the last batch
        self.item_cap = min(self.max_items, MAX_BYTES // _FIRST_ESTIMATE)  # items the next batch may hold
        self.max_frame_bytes = max_frame_bytes
        self.items = []  # held, in order; their credit is taken
        self.budget = 0  # credit taken by this batch for items still to come (given back when it is sent)
        self.size = 0  # bytes of the str and bytes items held
        self.first = 0.0  # when the first held item came
        self.last = float("-inf")  # when the producer last got control back (-inf: no item yet)
        self.error = None  # an encoding failure met by flush_if_suspended, raised by the stream loop
        self.thread = threading.get_ident()  # the thread that runs the stream

    def add(self, item):
        """Send or hold one item, taking its credit (waiting for it, with nothing held, when there is
        none). False, and nothing sent, once the call is cancelled."""
        now = self.clock()
        if self.ctx._cancelled:
            return False
        if not self.budget:  # a batch starts (or one was just sent): take credit for it
            waited = self._take_credit()
            if waited is None:
                return False
            if waited:
                now = self.last  # the wait is not the producer's: the gap counts from its end
        self.budget -= 1
        items = self.items
        if now - self.last >= self.gap:  # not ahead: out at once, with what is held
            items.append(item)
            self.flush()
            return True
        if not items:
            self.first = now
        items.append(item)
        kind = type(item)
        if kind is str or kind is bytes:
            self.size += len(item)
            if self.size >= MAX_BYTES:
                self.flush()
                return True
        # No budget left: the item cap is reached, or the credit is used up (never wait holding items).
        if not self.budget or now - self.first >= self.max_age:
            self.flush()
        else:
            self.last = now
        return True

    def _take_credit(self):
        """Credit for the batch that starts: up to its item cap, waiting (with nothing held) for at
        least one item's when none is free. True if it waited, False if not, None once cancelled."""
        cap = self.item_cap
        ctx = self.ctx
        lock = ctx._lock
        if lock is None:  # no window: nothing to count
            self.budget = cap
            return False
        with lock:
            n = min(ctx._credit, cap)
            ctx._credit -= n
        if n > 0:
            self.budget = n
            return False
        self.flush()  # nothing should be held here; if anything is, the host must have it to grant more
        if not ctx._wait_credit():
            return None
        with lock:
            n = min(ctx._credit, cap - 1)
            ctx._credit -= n
        self.budget = 1 + n
        self.last = self.clock()
        return True

    def flush(self):
        """Send what is held: `chunk` for one item, `chunks` for more; give back the credit the batch
        took and did not use. Raises UnserializableError (after sending the items before the bad one)."""
        items = self.items
        n = len(items)
        if n == 0:
            return
        self.items = []
        self.size = 0
        try:
            if n == 1:
                self.writer.send({"kind": "chunk", "id": self.ctx.id, "value": items[0]})
            else:
                self._send_batch(items, n)
        finally:
            self.last = self.clock()
            budget = self.budget
            if budget:
                self.budget = 0
                if self.ctx._lock is not None:
                    self.ctx._grant(budget)

    def _send_batch(self, items, n):
        writer = self.writer
        try:
            payload = writer.encode({"kind": "chunks", "id": self.ctx.id, "values": items})
        except UnserializableError:
            payload = None
        if payload is None or len(payload) > self.max_frame_bytes:
            call_id = self.ctx.id
            for item in items:  # the bad item raises here, after those before it went out
                writer.send({"kind": "chunk", "id": call_id, "value": item})
            return
        writer.write_payload(payload)
        self.per_item = per_item = max(1, len(payload) // n)
        self.item_cap = max(1, min(self.max_items, MAX_BYTES // per_item))

    def flush_here(self):
        """Flush if called on the stream's own thread (ctx.emit, log, call_host: keeps the order and
        does not hold items across a wait); elsewhere leave them, whose order is undefined anyway."""
        if self.items and threading.get_ident() == self.thread:
            self.flush()

    def flush_if_suspended(self, step):
        """Run by the event loop right after an async generator step's first slice: if the step has
        not finished, the producer waits on something, so nothing held should wait with it."""
        if self.items and not step.done():
            try:
                self.flush()
            except UnserializableError as exc:
                self.error = exc
