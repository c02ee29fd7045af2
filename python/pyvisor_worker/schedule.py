"""When each call starts: in arrival order, with at most N started and unanswered (`--concurrency N`).

The queue is the deque that the dispatch fills in stream order (dispatch.py). Only the main thread
takes calls off it, and only from its head. A call has *started* once the main thread has taken
it off the queue (its handler may run from then on), and is *answered* once its final frame
(`result`, `end` or `error`) has been written. `running` counts the calls started and not
answered. The main thread loops:

* nothing running: it reads fd 3 itself (fd3.take) until a call is queued, and starts it;
* a call queued, `running` < N and not stopping: it starts the call at the head of the queue;
* otherwise (tasks in flight): it runs the event loop until a task has answered and something can
  start, or nothing runs any more.

Starting means Invoker.run(). Sync handlers, generators and every stream call run to their answer
inside it, on the main thread (tasks already in flight stay suspended meanwhile, unless the call
itself runs the loop, as an async generator does); each counts as one of the N while it runs.
Only a coroutine outside a stream, with N > 1, goes on as a task (invoke.py), whose answer is
followed by `_released()`. With N = 1 nothing goes on as a task: the loop is `take, run`.

What the host relies on (docs/protocol.md, "Concurrency and call order"), and why it holds:

(a) calls that arrive while others run are queued: whichever thread reads fd 3 appends them;
(b) calls start strictly in arrival order: only the head is ever taken, and a `cancel` removes a
    queued call without reordering the rest (it is answered then and never starts);
(c) at most N calls are started and unanswered at any moment: `running` goes up before run() and
    down only after the answer is written, and nothing starts while `running` == N;
(d) a call's final frame is written before a call that waited for its slot starts: run() returns,
    or a task calls `_released()`, only after the answer is written.

So after a crash, of the calls still unanswered, in send order, at most the first N may have
started; the rest certainly did not, and the host may run them elsewhere.

Wake-ups while the main thread waits in the loop: fd 3 is read by the helper thread (fd3.py; at
once while a slot is free, through `cover`), and a call it queues wakes the loop through
`queued()` (call_soon_threadsafe) if a slot is free. No wake-up is lost: the main thread sets
`waiting` and only then looks at the queue, the reader appends and only then looks at `waiting`;
a task that answers lowers `running` and only then looks at the queue, the reader looks at
`running` only after appending. test/python/test_schedule.py drives all of this in process.
"""
import sys

from .dispatch import STOP
from .writer import flush_and_exit


class Scheduler:
    """Starts the queued calls of `calls` through `invoker`, at most `limit` at once.

    `on_read_end(exc)` is told when take() fails (EOF, corruption); the runtime's never returns.
    `cover()` asks for fd 3 to be read at once while the main thread is busy (fd3.cover_now).
    """

    def __init__(self, calls, invoker, limit, on_read_end, cover):
        self.calls = calls
        self.invoker = invoker
        self.limit = limit
        self.on_read_end = on_read_end
        self.cover = cover
        self.running = 0  # calls started and not answered yet; written by the main thread only
        self.idle = False  # the main thread waits in take() with nothing running
        self.waiting = False  # the main thread runs the event loop until a task's answer lets it go on
        self.stopping = False  # SIGTERM or `shutdown`: start nothing more, return once nothing runs
        invoker.released = self._released

    def serve(self, take):
        """Start calls until stopping with nothing running; then return (the runtime refuses the rest)."""
        if self.limit == 1:
            return self._serve_one(take)
        calls, run = self.calls, self.invoker.run
        while True:
            if self.running == 0:
                if self.stopping:
                    return
                self.idle = True
                try:
                    ctx = take(calls)
                except BaseException as exc:  # noqa: BLE001
                    self.idle = False
                    self.on_read_end(exc)
                    raise
                self.idle = False
            elif self.stopping or not calls or self.running >= self.limit:
                self._wait()
                continue
            else:
                try:
                    ctx = calls.popleft()
                except IndexError:  # a cancel removed it meanwhile (dispatch.py)
                    continue
            if ctx is STOP:
                self.stopping = True
                continue
            if ctx.stream:
                self.cover()  # it may wait for credit: read fd 3 from the start
            self.running += 1
            if not run(ctx):
                self.running -= 1

    def _serve_one(self, take):
        """N = 1: every call runs to its answer inside run(), so nothing is ever running at the
        top of this loop; the same loop as above without the count, which is always 0 here."""
        calls, run, on_read_end = self.calls, self.invoker.run, self.on_read_end
        while not self.stopping:
            self.idle = True
            try:
                ctx = take(calls)
            except BaseException as exc:  # noqa: BLE001
                self.idle = False
                on_read_end(exc)
                raise
            self.idle = False
            if ctx is STOP:
                self.stopping = True
            else:
                if ctx.stream:
                    self.cover()
                run(ctx)

    def queued(self):
        """Called by the thread that read a call (or `shutdown`) after queueing it."""
        if self.waiting and self.running < self.limit:
            self.invoker.loop.call_soon_threadsafe(self._check)

    # --- on the event loop, main thread ------------------------------------------------------

    def _can_go(self):
        return self.running == 0 or (not self.stopping and self.running < self.limit and bool(self.calls))

    def _wait(self):
        loop = self.invoker.loop
        self.waiting = True
        try:
            if self._can_go():  # queued before `waiting` was set: no wake-up is coming for it
                return
            if self.running < self.limit and not self.stopping:
                self.cover()  # a call that arrives now can start now: read fd 3 at once
            loop.run_forever()
        except SystemExit as exc:  # raised in a task of the user's own (ours catch theirs)
            exit_from_task(exc)
        except KeyboardInterrupt:  # likewise; SIGINT itself is ignored. The task keeps the exception.
            pass
        finally:
            self.waiting = False

    def _released(self):
        """A task has written its call's answer: the slot is free."""
        self.running -= 1
        if self.waiting:
            if self._can_go():
                self.invoker.loop.stop()
            elif not self.stopping:
                self.cover()  # waiting on with a slot free now: read fd 3 at once

    def _check(self):
        if self.waiting and self._can_go():
            self.invoker.loop.stop()


EXIT_USER_SYSTEM_EXIT = 4  # docs/protocol.md: SystemExit outside any call (a task the user started)


def exit_from_task(exc):
    """SystemExit raised outside any call (in an asyncio task of the user's own) ends the worker
    with exit code 4, whatever its code: codes 1-3 mean start-up and protocol failures to the
    host. The code or text it carried goes to stderr."""
    try:
        print(f"pyvisor_worker: SystemExit({exc.code!r}) outside any call ends the worker (exit code "
              f"{EXIT_USER_SYSTEM_EXIT})", file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    flush_and_exit(EXIT_USER_SYSTEM_EXIT)
