"""Who reads fd 3, and when: the main thread while it is idle, a helper thread while it works.

Why two readers: the host must get `pong`, `cancel`, `credit` and `host_result` through while a
handler is busy (possibly blocked in C code), yet handlers must run on the main thread (signals,
many C extensions and asyncio expect it). Why not the helper alone: a call it read would have to
be handed over, one more thread wake-up and a GIL exchange per call. So the idle main thread reads
fd 3 itself and a call wakes the very thread that runs it (a round trip costs what a bare echo
costs), and the helper covers only work that lasts.

The invariant, and what each thread promises:

* fd 3 is read only by the holder of the read lock, and the holder dispatches every complete frame
  it has buffered before letting the lock go: each frame is dispatched once, in stream order.
* The main thread holds the read lock for the whole of `take()` and blocks in read(2) there;
  `reading` is True exactly while it is in `take()`. Leaving, it bumps `period`: one period is one
  piece of main-thread work. Only the main thread writes `reading` and `period`. It comes back to
  `take()` only once no call is running (schedule.py): with `--concurrency` above 1 one period
  may span many calls, the main thread running the event loop for their tasks meanwhile.
* The helper never waits in read(2) for bytes that may not come: it takes the lock only when poll
  says bytes wait, checks again under the lock (the main thread may have taken them meanwhile) and
  reads once (plus the rest of a frame larger than the read chunk, which the host writes whole),
  so the main thread coming back to `take()` waits for at most one read and its dispatch.
* The helper covers a period (reads fd 3 whenever bytes wait) once it has seen that same period
  busy for a whole tick, so short calls never wake it and a ping or a cancel waits at most about
  two ticks. It covers at once a period marked `urgent` by `cover_now()` -- the start-up imports
  (period 0 starts urgent), a host call, a stream that may wait for credit -- because someone is
  about to block on the host's answer, and while the main thread waits in the event loop with a
  slot free, because a call that arrives then can start then. It stops covering when `reading`
  or `period` changes. What it reads it dispatches like the main thread would; a queued call may
  thereby wake the event loop (call_soon_threadsafe), which never blocks.
* After a tick in which the main thread stayed idle the helper parks (sleeps without timeout).
  No lost wake-up: leaving `take()`, the main thread writes `reading` and `period` and only then
  looks at `parked`; the helper sets `parked` and only then looks at `reading` and `period`,
  holding the condition's lock, which the main thread's notify also takes. One of them sees the
  other, and leaving `take()` costs no lock while the helper is not parked.

The condition, the tick and the poll are injected, so test/python/test_fd3.py steps through these
transitions without threads or sleeps.
"""
import select
import signal
import threading

TICK = 0.005  # seconds of main-thread work after which the helper reads fd 3: ping/cancel wait <= 2 ticks
RECHECK_MS = 50  # while covering, how often the helper checks that the work has not ended

# The helper's next move (see helper_step).
COVER = "cover"  # read fd 3 until the current period ends
PARK = "park"  # the main thread idled through a whole tick: sleep until it starts work
WAIT = "wait"  # remember the period, look again in a tick


def helper_step(reading, period, urgent, seen):
    """The helper's move, given the main thread's state and the period it saw one tick ago."""
    if reading:
        return PARK if period == seen else WAIT
    return COVER if period == seen or period == urgent else WAIT


def poll_waiters(fd):
    """(wait up to ms for fd to be readable, is it readable now?): poll(), or select() where it is missing.

    One pair per thread: a poll object refuses to be polled by two threads at once.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poll = poller.poll
        return poll, lambda: poll(0)
    fds = [fd]
    return (lambda ms: select.select(fds, (), (), ms / 1000)[0]), lambda: select.select(fds, (), (), 0)[0]


class Fd3:
    """Reads fd 3 on behalf of both threads; `dispatch` is called with each complete frame payload.

    `frames` is the buffered splitter (fill() reads once, blocking; pop() gives the next complete
    payload or None; `eof`). `on_end(exc, who)` is told when the helper's reading fails (EOF,
    corruption); it must not return. The main thread's failures raise out of `take()`.
    """

    def __init__(self, fd, frames, dispatch, on_end, waiters=poll_waiters, condition=None,
                 tick=TICK, recheck_ms=RECHECK_MS):
        self.fd = fd
        self.frames = frames
        self.dispatch = dispatch
        self.on_end = on_end
        self.waiters = waiters
        self.tick = tick
        self.recheck_ms = recheck_ms
        self.lock = threading.Lock()  # the read lock: its holder reads fd 3 and dispatches
        self.cond = threading.Condition(threading.Lock()) if condition is None else condition
        self.reading = False  # the main thread is in take(): it reads fd 3 itself
        self.period = 0  # bumped each time the main thread leaves take()
        self.urgent = 0  # == period: this period needs fd 3 read now (period 0: the start-up imports)
        self.parked = False  # the helper sleeps until the next period; written by the helper only

    # --- main thread ----------------------------------------------------------------------------

    def take(self, queue):
        """The next item of `queue` (a deque the dispatch fills), reading fd 3 until there is one.

        Raises EOFError at EOF, ProtocolViolation on corruption.
        """
        fill, drain = self.frames.fill, self._drain
        with self.lock:
            self.reading = True
            try:
                while not queue:
                    fill()
                    drain()
                return queue.popleft()
            finally:
                self.reading = False
                self.period += 1
                if self.parked:
                    with self.cond:
                        self.cond.notify()

    def read_waiting(self):
        """Dispatch what fd 3 already holds, without waiting for more (shutting down)."""
        with self.lock:
            ready = self.waiters(self.fd)[1]
            while ready():
                self.frames.fill()
                self._drain()

    # --- any thread -----------------------------------------------------------------------------

    def cover_now(self):
        """This period is about to wait on the host: the helper reads fd 3 from now on, not in a tick.

        A no-op while the main thread is in take(): it reads the answer itself; and once this
        period is urgent already: the helper covers it until it ends.
        """
        if not self.reading and self.urgent != self.period:
            with self.cond:
                self.urgent = self.period
                self.cond.notify()

    # --- helper thread --------------------------------------------------------------------------

    def start_helper(self):
        """Start the helper; period 0 is urgent, so it reads fd 3 at once (pings during imports)."""
        thread = threading.Thread(target=self._helper_main, name="pyvisor-reader", daemon=True)
        thread.start()
        return thread

    def _helper_main(self):
        if hasattr(signal, "pthread_sigmask"):
            # Signals must land on the main thread, or its blocking read would not wake.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            wait, ready = self.waiters(self.fd)
            while True:
                self.cover(self.await_work(), wait, ready)
        except BaseException as exc:  # noqa: BLE001
            self.on_end(exc, "reader thread")

    def await_work(self):
        """Block until a period needs covering (see helper_step); return that period."""
        cond, seen = self.cond, None
        with cond:
            while True:
                period = self.period
                step = helper_step(self.reading, period, self.urgent, seen)
                if step is COVER:
                    return period
                if step is PARK:
                    self.parked = True
                    if self.reading and self.period == seen:  # after setting parked: see the docstring
                        cond.wait()
                    self.parked = False
                    continue
                seen = period
                cond.wait(self.tick)

    def cover(self, period, wait, ready):
        """Read fd 3 whenever bytes wait there, until the main thread's work `period` ends."""
        lock, fill, drain = self.lock, self.frames.fill, self._drain
        while self.period == period and not self.reading:
            if not wait(self.recheck_ms):
                continue
            with lock:
                if ready():  # the main thread may have taken those bytes meanwhile
                    fill()
                    drain()

    def _drain(self):
        """Dispatch every complete frame buffered (the caller holds the read lock)."""
        frames, dispatch = self.frames, self.dispatch
        pop = frames.pop
        payload = pop()
        while payload is not None:
            dispatch(payload)
            payload = pop()
        if frames.eof:
            raise EOFError
