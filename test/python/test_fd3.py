"""fd 3 ownership (pyvisor_worker/fd3.py), stepped by hand: no threads, no sleeps, no timing.

Both threads' code is the real Fd3 code, run by the test thread one side at a time. The helper's
condition is a FakeCond whose wait() does not sleep: it records the timeout (the tick, or None for
parking) and runs the next scripted move of the main thread, as if made during that wait. The
main thread's moves are the real Fd3.take() (leaving it bumps the period and wakes a parked
helper) or `reading = True`, the state take() holds while it blocks in read(2) (TakeTest pins
that). NoLostWakeUpTest goes further and runs one thread's steps between any two accesses of the
other to the shared state. The frame source, the poll and the dispatch are fakes.
"""
import collections
import unittest

import harness  # noqa: F401 (puts python/ on sys.path)

from pyvisor_worker.fd3 import COVER, PARK, TICK, WAIT, Fd3, helper_step
from pyvisor_worker.protocol import ProtocolViolation


class OutOfScript(Exception):
    """The code under test waited once more than the test scripted (it would have slept)."""


class FakeCond:
    """The helper's condition. wait() never sleeps: it runs the next scripted main-thread move.

    The main thread only ever takes the lock to notify. If it does so while the helper holds the
    lock, a real main thread would block until the helper waits or leaves; here that notify is
    held back and delivered then: the helper's next wait() returns at once, using no move.
    """

    def __init__(self):
        self.moves = []
        self.waits = []  # each wait's timeout: TICK, or None for a park
        self.notified = 0
        self.entered = 0
        self.held = False
        self.blocked = 0  # main-thread `with cond:` blocks entered while the helper holds the lock
        self.held_back = 0  # their notifies, for the helper's next wait()

    def script(self, *moves):
        self.moves.extend(moves)

    def __enter__(self):
        self.entered += 1
        if self.held:
            self.blocked += 1
        else:
            self.held = True

    def __exit__(self, *exc):
        if self.blocked:
            self.blocked -= 1
        else:
            self.held = False
            self.held_back = 0  # released with nobody waiting: those notifies wake no one

    def wait(self, timeout=None):
        assert self.held and not self.blocked, "wait() without the condition's lock"
        self.waits.append(timeout)
        if self.held_back:
            self.held_back -= 1
            return
        if not self.moves:
            raise OutOfScript(f"waits so far: {self.waits}")
        self.held = False  # wait() releases the lock while the other thread moves
        try:
            self.moves.pop(0)()
        finally:
            self.held = True

    def notify(self):
        assert self.held, "notify() without the condition's lock"
        self.notified += 1
        if self.blocked:
            self.held_back += 1


class FakeFrames:
    """Each fill() delivers the next scripted read: a list of complete payloads, or EOF."""

    EOF = object()

    def __init__(self, *reads, on_fill=None):
        self.reads = list(reads)
        self.buffered = collections.deque()
        self.eof = False
        self.fills = 0
        self.on_fill = on_fill

    def fill(self):
        self.fills += 1
        if self.on_fill:
            self.on_fill()
        data = self.reads.pop(0)
        if data is self.EOF:
            self.eof = True
            return False
        self.buffered.extend(data)
        return True

    def pop(self):
        return self.buffered.popleft() if self.buffered else None


def ready_never(fd):
    return (lambda ms: False), (lambda: False)


class Asleep(Exception):
    """The helper parked with no notify on its way: only a later notify can wake it."""


class SleepCond(FakeCond):
    """Ticks pass at once with nothing happening; a park raises Asleep unless a notify is pending."""

    asleep = False

    def wait(self, timeout=None):
        self.waits.append(timeout)
        if self.held_back:
            self.held_back -= 1
        elif timeout is None:
            self.asleep = True
            raise Asleep

    def notify(self):
        super().notify()
        if not self.blocked:
            self.asleep = False


def _traced(name):
    def get(self):
        self.touch()
        return self.__dict__[name]

    def set_(self, value):
        self.touch()
        self.__dict__[name] = value

    return property(get, set_)


class TracedFd3(Fd3):
    """An Fd3 that calls `on_touch()` before every read or write of the state both threads share,
    and fails instead of spinning: a loop that never waits would hang these tests otherwise."""

    reading, period, urgent, parked = (_traced(n) for n in ("reading", "period", "urgent", "parked"))
    on_touch = None
    touches = 0

    def touch(self):
        self.touches += 1
        if self.touches > 10000:
            raise AssertionError("spinning: 10000 accesses to the shared state without a wait")
        hook = self.on_touch
        if hook is not None:
            self.on_touch = None  # the other thread's steps run untraced (atomically)
            try:
                hook()
            finally:
                self.on_touch = hook


class Rig:
    """A (traced) Fd3 with fakes around it. Payloads "call N" queue for the main thread; all are logged."""

    def __init__(self, *reads, on_fill=None, waiters=ready_never, cond=None):
        self.cond = FakeCond() if cond is None else cond
        self.frames = FakeFrames(*reads, on_fill=on_fill)
        self.queue = collections.deque()
        self.dispatched = []
        self.fd3 = TracedFd3(3, self.frames, self.dispatch, self.on_end, waiters=waiters, condition=self.cond)

    def dispatch(self, payload):
        self.dispatched.append(payload)
        if payload.startswith("call "):
            self.queue.append(payload)

    def on_end(self, exc, who):
        raise AssertionError(f"on_end({exc!r}, {who!r})")

    # The main thread's moves.
    def main_idles(self):
        """The main thread is in take(), blocked reading fd 3."""
        self.fd3.reading = True

    def main_gets_call(self):
        """take() returns a call: the real exit path (period bump, wake a parked helper)."""
        self.queue.append("call (already read)")
        self.fd3.take(self.queue)

    def startup_done(self):
        """Period 0 (the imports) is over and the main thread idles in take()."""
        self.main_gets_call()  # period 1
        self.main_idles()


class HelperStepTest(unittest.TestCase):
    def test_every_case(self):
        p, other = 7, 6
        for reading in (True, False):
            for seen in (None, p, other):
                for urgent in (p, other):
                    with self.subTest(reading=reading, seen=seen, urgent=urgent):
                        step = helper_step(reading, p, urgent, seen)
                        if reading:
                            # The main thread reads fd 3 itself: never cover; park after a whole idle tick.
                            self.assertEqual(step, PARK if seen == p else WAIT)
                        elif urgent == p or seen == p:
                            # Busy on one period for a tick, or someone waits on the host: cover.
                            self.assertEqual(step, COVER)
                        else:
                            self.assertEqual(step, WAIT)


class AwaitWorkTest(unittest.TestCase):
    def test_start_up_imports_are_covered_at_once(self):
        rig = Rig()
        self.assertEqual(rig.fd3.await_work(), 0)
        self.assertEqual(rig.cond.waits, [])

    def test_a_call_is_covered_after_one_whole_tick_on_it(self):
        rig = Rig()
        rig.startup_done()
        rig.main_gets_call()  # period 2 begins
        rig.cond.script(lambda: None)  # the main thread is still on it a tick later
        self.assertEqual(rig.fd3.await_work(), 2)
        self.assertEqual(rig.cond.waits, [TICK])

    def test_short_calls_never_get_covered(self):
        rig = Rig()
        rig.startup_done()
        rig.main_gets_call()
        # Each tick the main thread is on another piece of work: the helper only keeps looking.
        rig.cond.script(rig.main_gets_call, rig.main_gets_call, rig.main_gets_call)
        with self.assertRaises(OutOfScript):
            rig.fd3.await_work()
        self.assertEqual(rig.cond.waits, [TICK] * 4)

    def test_idle_main_thread_parks_the_helper_until_work_starts(self):
        rig = Rig()
        rig.startup_done()
        rig.cond.script(lambda: None,  # one tick idle...
                        rig.main_gets_call,  # ...then parked (no timeout) until a call arrives,
                        lambda: None)  # which is still running a tick later
        self.assertEqual(rig.fd3.await_work(), 2)
        self.assertEqual(rig.cond.waits, [TICK, None, TICK])
        self.assertEqual(rig.cond.notified, 1)  # take() woke the parked helper
        self.assertFalse(rig.fd3.parked)

    def test_a_parked_helper_stays_parked_while_the_main_thread_idles(self):
        rig = Rig()
        rig.startup_done()
        rig.cond.script(lambda: None, lambda: None)  # a spurious wake-up while parked
        with self.assertRaises(OutOfScript):
            rig.fd3.await_work()
        self.assertEqual(rig.cond.waits, [TICK, None, None])

    def test_host_call_gets_fd3_covered_without_waiting_for_the_tick(self):
        rig = Rig()
        rig.startup_done()
        rig.main_gets_call()
        rig.cond.script(rig.fd3.cover_now)  # the handler starts a host call during the first tick
        self.assertEqual(rig.fd3.await_work(), 2)
        self.assertEqual(rig.cond.waits, [TICK])
        self.assertEqual(rig.fd3.urgent, 2)

    def test_urgency_ends_with_its_period(self):
        rig = Rig()
        rig.startup_done()
        rig.main_gets_call()
        rig.fd3.cover_now()
        self.assertEqual(rig.fd3.await_work(), 2)
        rig.main_gets_call()  # the next call is not urgent: back to one tick
        rig.cond.script(lambda: None)
        self.assertEqual(rig.fd3.await_work(), 3)
        self.assertEqual(rig.cond.waits, [TICK])


class NoLostWakeUpTest(unittest.TestCase):
    """The helper's park and the main thread's exit from take(), interleaved in every way in which
    one side runs whole between two shared-state accesses of the other: afterwards the helper is
    never asleep while the main thread works. (A lost wake-up needs the helper's check before the
    main thread's first write and the main thread's look at `parked` before the helper set it,
    which each side's order rules out; these runs catch either order being swapped.)"""

    def idle_rig(self):
        rig = Rig(cond=SleepCond())
        rig.startup_done()  # the helper has covered the imports; the main thread idles in take()
        return rig

    def helper_parks(self, rig):
        try:
            rig.fd3.await_work()  # returns if it covers instead
        except Asleep:
            pass

    def count_touches(self, run):
        rig = self.idle_rig()
        touches = []
        rig.fd3.on_touch = lambda: touches.append(1)
        run(rig)
        rig.fd3.on_touch = None
        return len(touches)

    def at_touch(self, k, move):
        count = [0]

        def hook():
            if count[0] == k:
                move()
            count[0] += 1

        return hook, count

    def test_helper_parking_at_any_point_of_the_main_thread_leaving_take(self):
        n = self.count_touches(lambda rig: rig.main_gets_call())
        self.assertGreaterEqual(n, 4)  # reading twice, period read and written, parked read
        for k in range(n + 1):
            with self.subTest(helper_before_main_touch=k):
                rig = self.idle_rig()
                hook, count = self.at_touch(k, lambda: self.helper_parks(rig))
                rig.fd3.on_touch = hook
                rig.main_gets_call()
                rig.fd3.on_touch = None
                if count[0] <= k:
                    self.helper_parks(rig)  # after the main thread's exit
                self.assertFalse(rig.cond.asleep, rig.cond.waits)

    def test_main_thread_leaving_take_at_any_point_of_the_helper_parking(self):
        n = self.count_touches(self.helper_parks)
        self.assertGreaterEqual(n, 5)
        for k in range(n + 1):
            with self.subTest(main_before_helper_touch=k):
                rig = self.idle_rig()
                hook, count = self.at_touch(k, rig.main_gets_call)
                rig.fd3.on_touch = hook
                self.helper_parks(rig)
                rig.fd3.on_touch = None
                if count[0] <= k:
                    rig.main_gets_call()  # after the helper parked
                self.assertFalse(rig.cond.asleep, rig.cond.waits)
                self.assertEqual(rig.fd3.period, 2)


class CoverNowTest(unittest.TestCase):
    def test_while_busy_marks_the_period_urgent_and_wakes_the_helper(self):
        rig = Rig()
        rig.startup_done()
        rig.main_gets_call()
        rig.fd3.cover_now()
        self.assertEqual((rig.fd3.urgent, rig.cond.notified), (2, 1))

    def test_once_the_period_is_urgent_it_costs_no_lock(self):
        # The scheduler asks each time it waits in the event loop with a slot free.
        rig = Rig()
        rig.startup_done()
        rig.main_gets_call()
        rig.fd3.cover_now()
        entered = rig.cond.entered
        rig.fd3.cover_now()
        self.assertEqual((rig.fd3.urgent, rig.cond.entered, rig.cond.notified), (2, entered, 1))
        rig.main_gets_call()  # a new period is not urgent yet
        rig.fd3.cover_now()
        self.assertEqual((rig.fd3.urgent, rig.cond.notified), (3, 2))

    def test_while_the_main_thread_reads_fd3_it_is_a_no_op(self):
        # E.g. a handler's own thread makes a host call while the main thread idles in take():
        # the main thread will read the answer itself.
        rig = Rig()
        rig.startup_done()
        entered = rig.cond.entered
        rig.fd3.cover_now()
        self.assertEqual((rig.fd3.urgent, rig.cond.entered, rig.cond.notified), (0, entered, 0))


class CoverTest(unittest.TestCase):
    def rig_covering(self, *polls):
        """A rig on period 2 whose polls follow `polls`: (bytes within the recheck time?, still there
        under the lock?, optional main-thread move made during that wait)."""
        polls = list(polls)
        now = [None]

        def waiters(fd):
            def wait(ms):
                self.assertEqual(ms, rig.fd3.recheck_ms)
                now[0] = polls.pop(0)
                if len(now[0]) > 2:
                    now[0][2]()
                return now[0][0]

            return wait, lambda: now[0][1]

        rig = Rig(["ping 1", "cancel 5"], on_fill=lambda: self.assertTrue(rig.fd3.lock.locked()),
                  waiters=waiters)
        rig.startup_done()
        rig.main_gets_call()
        return rig

    def cover(self, rig):
        self.assertFalse(rig.fd3.lock.locked())
        rig.fd3.cover(2, *rig.fd3.waiters(3))
        self.assertFalse(rig.fd3.lock.locked())

    def test_reads_only_bytes_that_wait_and_dispatches_all_complete_frames(self):
        rig = self.rig_covering((False, False),  # nothing within the recheck time: no read
                                (True, True),  # bytes wait: one read under the lock, both frames dispatched
                                (True, False, lambda: rig.main_gets_call()))  # the main thread took them
        self.cover(rig)
        self.assertEqual(rig.frames.fills, 1)  # never a read without bytes waiting: it cannot block
        self.assertEqual(rig.dispatched, ["ping 1", "cancel 5"])

    def test_stops_when_the_main_thread_reads_fd3_again(self):
        rig = self.rig_covering((True, True, lambda: rig.main_idles()))
        self.cover(rig)
        self.assertEqual(rig.frames.fills, 1)  # what was already waiting is still read, then it stops
        self.assertEqual(rig.dispatched, ["ping 1", "cancel 5"])

    def test_a_period_that_already_ended_is_not_covered(self):
        rig = self.rig_covering()
        rig.main_gets_call()  # period 3 runs now
        self.cover(rig)
        self.assertEqual(rig.frames.fills, 0)


class TakeTest(unittest.TestCase):
    def test_reads_with_the_lock_and_reading_set_and_bumps_the_period_on_leaving(self):
        seen = []
        rig = Rig(["ping 1"], ["call 1"],
                  on_fill=lambda: seen.append((rig.fd3.lock.locked(), rig.fd3.reading)))
        self.assertEqual(rig.fd3.take(rig.queue), "call 1")
        self.assertEqual(seen, [(True, True), (True, True)])
        self.assertEqual((rig.fd3.lock.locked(), rig.fd3.reading, rig.fd3.period), (False, False, 1))
        self.assertEqual(rig.dispatched, ["ping 1", "call 1"])

    def test_every_complete_frame_of_a_read_is_dispatched_before_returning(self):
        # A ping behind the call in the same read is answered now, not after the call has run.
        rig = Rig(["call 1", "ping 2", "call 3"])
        self.assertEqual(rig.fd3.take(rig.queue), "call 1")
        self.assertEqual(rig.dispatched, ["call 1", "ping 2", "call 3"])
        self.assertEqual(rig.fd3.take(rig.queue), "call 3")  # queued: no read this time
        self.assertEqual(rig.frames.fills, 1)
        self.assertEqual(rig.fd3.period, 2)

    def test_eof_raises_after_dispatching_what_was_complete(self):
        rig = Rig(["ping 1"], FakeFrames.EOF)
        with self.assertRaises(EOFError):
            rig.fd3.take(rig.queue)
        self.assertEqual(rig.dispatched, ["ping 1"])
        self.assertEqual((rig.fd3.reading, rig.fd3.period, rig.fd3.lock.locked()), (False, 1, False))

    def test_corruption_raises_out_of_take(self):
        rig = Rig(["bad"])

        def dispatch(payload):
            raise ProtocolViolation("bad frame")

        rig.fd3.dispatch = dispatch
        with self.assertRaises(ProtocolViolation):
            rig.fd3.take(rig.queue)
        self.assertFalse(rig.fd3.lock.locked())

    def test_leaving_wakes_the_helper_only_when_parked(self):
        rig = Rig(["call 1"], ["call 2"])
        rig.fd3.take(rig.queue)
        self.assertEqual((rig.cond.entered, rig.cond.notified), (0, 0))  # the hot path takes no lock
        rig.fd3.parked = True
        rig.fd3.take(rig.queue)
        self.assertEqual((rig.cond.entered, rig.cond.notified), (1, 1))


class ReadWaitingTest(unittest.TestCase):
    def test_reads_what_is_there_and_never_waits(self):
        answers = [True, True, False]
        rig = Rig(["call 1"], ["call 2", "ping 3"],
                  waiters=lambda fd: (None, lambda: answers.pop(0)))
        rig.fd3.read_waiting()
        self.assertEqual(rig.dispatched, ["call 1", "call 2", "ping 3"])
        self.assertEqual(answers, [])
        self.assertFalse(rig.fd3.lock.locked())


if __name__ == "__main__":
    unittest.main()
