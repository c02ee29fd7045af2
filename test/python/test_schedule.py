"""When calls start (pyvisor_worker/schedule.py), in process: the real Scheduler, Dispatcher and
Invoker on a real event loop, fd 3 replaced by a script of reads. No threads, no sleeps: the
handlers await asyncio.sleep(0) or futures the test opens, and a handler may act as the reader
thread by dispatching frames while calls run. A watchdog alarm turns a hang into a failure.

Every run is checked against the contract the host relies on (runtime.py, docs/protocol.md):
calls start in arrival order, at most N are started and unanswered, and a call's final frame is
written before the call that waited for its slot starts.
"""
import asyncio
import collections
import unittest

from harness import HandlersTest, RecordingWriter, call_message, watchdog

from pyvisor_worker import handler
from pyvisor_worker.dispatch import Dispatcher
from pyvisor_worker.host_calls import HostCalls
from pyvisor_worker.invoke import Invoker
from pyvisor_worker.link import Link
from pyvisor_worker.schedule import Scheduler

PREFIX = "sch_"
FINAL = ("result", "error", "end")
RIG = None  # the Rig of the running test, for the handlers below


class Done(Exception):
    """The scripted reads are used up while nothing runs: the test's run is over."""


def _register():
    @handler("sch_steps")
    async def steps(ctx, n=0):
        RIG.events.append(("start", ctx.id))
        for _ in range(n):
            await asyncio.sleep(0)
        return ctx.id

    @handler("sch_sync")
    def sync(ctx):
        RIG.events.append(("start", ctx.id))
        return RIG.scheduler.running

    @handler("sch_sigterm")
    async def sigterm(ctx):
        await asyncio.sleep(0)
        RIG.scheduler.stopping = True  # what Runtime._on_sigterm does when the signal comes mid-call

    @handler("sch_gen")
    def gen(ctx, n=2):
        RIG.events.append(("start", ctx.id))
        yield from range(n)

    @handler("sch_emit")
    async def emit(ctx, n=2):
        RIG.events.append(("start", ctx.id))
        for i in range(n):
            await asyncio.sleep(0)
            ctx.emit(i)

    @handler("sch_feed")
    async def feed(ctx, msgs=(), release=None):
        """Acts as the reader thread: dispatches msgs while calls run, then opens gate `release`."""
        RIG.events.append(("start", ctx.id))
        await asyncio.sleep(0)
        for msg in msgs:
            RIG.feed(msg)
        if release is not None:
            RIG.gate(release).set_result(None)
        return ctx.id

    @handler("sch_gate")
    async def gate(ctx, name):
        RIG.events.append(("start", ctx.id))
        await RIG.gate(name)
        return ctx.id

    @handler("sch_cancellable")
    async def cancellable(ctx, self_cancel=False, catch=False):
        RIG.events.append(("start", ctx.id))
        try:
            if self_cancel:  # the reader reads a cancel for this call while it runs
                RIG.feed({"kind": "cancel", "id": ctx.id})
            await asyncio.get_running_loop().create_future()  # nobody ever sets it
        except asyncio.CancelledError:
            if catch:
                return "caught"
            raise
        finally:
            RIG.events.append(("finally", ctx.id, ctx.cancelled))

    @handler("sch_agen")
    async def agen(ctx, n=3, cancel_at=None):
        RIG.events.append(("start", ctx.id))
        try:
            for i in range(n):
                if i == cancel_at:
                    RIG.feed({"kind": "cancel", "id": ctx.id})
                    await asyncio.get_running_loop().create_future()
                await asyncio.sleep(0)
                yield i
        finally:
            RIG.events.append(("finally", ctx.id, ctx.cancelled))


class Rig:
    """One worker's scheduling parts; `events` records, in order: ("run", id, running) when the
    scheduler starts a call, ("start", id) when its handler begins, ("answer", id, kind) when its
    final frame is written, ("chunk", id), ("finally", id, cancelled), ("cover", running)."""

    def __init__(self, limit, *reads, on_cover=None):
        global RIG
        RIG = self
        self.limit = limit
        self.events = []
        self.reads = collections.deque(reads)  # each read brings a list of messages
        self.on_cover = on_cover
        self.writer = RecordingWriter()
        self.writer.on_send = self._sent
        self.calls = collections.deque()
        self.active = {}
        self.invoker = Invoker(self.writer, self.active, background=limit > 1)
        self.loop = self.invoker._event_loop()
        self.gates = {}
        self.scheduler = Scheduler(self.calls, self.invoker, limit, self._read_end, self._cover)
        self.dispatcher = Dispatcher(self.writer, Link(self.writer, HostCalls(self.writer.send), self.active),
                                     self.calls, self.active, None, self.invoker.cancel_queued,
                                     self.scheduler.queued if limit > 1 else None)
        run = self.invoker.run

        def recording_run(ctx):
            self.events.append(("run", ctx.id, self.scheduler.running))
            return run(ctx)

        self.invoker.run = recording_run
        self.arrival = []  # call ids in the order they were dispatched

    def close(self):
        self.loop.close()
        asyncio.set_event_loop(None)

    def _sent(self, msg):
        if msg["kind"] in FINAL:
            self.events.append(("answer", msg["id"], msg["kind"]))
        elif msg["kind"] == "chunk":
            self.events.append(("chunk", msg["id"]))

    def _cover(self):
        self.events.append(("cover", self.scheduler.running))
        if self.on_cover is not None:
            self.on_cover()

    def _read_end(self, exc):
        raise exc

    def feed(self, msg):
        if msg["kind"] == "call":
            self.arrival.append(msg["id"])
        self.dispatcher.dispatch(self.writer.codec.encode(msg))

    def take(self, calls):
        """fd3.take: reads (the next scripted batch) while the queue is empty."""
        while not calls:
            if not self.reads:
                raise Done
            for msg in self.reads.popleft():
                self.feed(msg)
        return calls.popleft()

    def gate(self, name):
        if name not in self.gates:
            self.gates[name] = self.loop.create_future()
        return self.gates[name]

    def serve(self):
        """Runs the scheduler; "done" when the reads ran out, "stopped" when it returned."""
        try:
            self.scheduler.serve(self.take)
        except Done:
            return "done"
        return "stopped"

    def of(self, kind):
        return [e for e in self.events if e[0] == kind]

    def answers(self):
        return {e[1]: e[2] for e in self.of("answer")}


def call(call_id, name, args=None, **extra):
    return call_message(call_id, PREFIX + name, args, **extra)


class ScheduleTest(HandlersTest):
    prefix = PREFIX
    register = staticmethod(_register)

    def setUp(self):
        watchdog(self, "the scheduler waited for something that never came (a lost wake-up?)", 10)

    def rig(self, limit, *reads, **kwargs):
        rig = Rig(limit, *reads, **kwargs)
        self.addCleanup(rig.close)
        return rig

    def assertContract(self, rig):
        """Starts in arrival order; at every start at most N started and unanswered, counting it,
        so a call that waited for a slot starts only after an answer was written; the scheduler's
        count agrees; no handler begins before its call was started. (A task's first step runs
        when the loop next runs: a sync call started after it may begin first.)"""
        runs = [e[1] for e in rig.of("run")]
        self.assertEqual(runs, [i for i in rig.arrival if i in runs], "calls started out of arrival order")
        open_calls, peak = set(), 0
        for event in rig.events:
            if event[0] == "run":
                open_calls.add(event[1])
                self.assertLessEqual(len(open_calls), rig.limit, f"more than N started and unanswered: {rig.events}")
                if rig.limit > 1:  # with N = 1 run() itself is the one slot: no count is kept
                    self.assertEqual(event[2], len(open_calls), "the scheduler's count is not the started-unanswered count")
                peak = max(peak, len(open_calls))
            elif event[0] == "answer":
                open_calls.discard(event[1])
        for event in rig.of("start"):  # a handler begins only once its call was started
            self.assertLess(next(i for i, e in enumerate(rig.events) if e[:2] == ("run", event[1])),
                            rig.events.index(event))
        for event in rig.of("cover"):
            self.assertLessEqual(event[1], rig.limit)
        return peak

    # --- order, limit, slots ---------------------------------------------------------------------

    def test_async_calls_start_in_order_at_most_n_and_a_freed_slot_is_answered_first(self):
        lengths = [5, 1, 3, 0, 4, 2, 6, 1, 0, 3]
        rig = self.rig(3, [call(i + 1, "steps", {"n": n}) for i, n in enumerate(lengths)])
        self.assertEqual(rig.serve(), "done")
        self.assertEqual(self.assertContract(rig), 3)  # the limit is reached, never passed
        self.assertEqual(rig.answers(), {i: "result" for i in range(1, 11)})
        self.assertEqual([e[1] for e in rig.of("run")], list(range(1, 11)))
        self.assertEqual([e[1] for e in rig.of("start")], list(range(1, 11)))  # tasks step in order
        self.assertNotEqual([e[1] for e in rig.of("answer")], list(range(1, 11)))  # they overlapped
        # (d) spelled out: each call beyond the first N starts right after some call's answer.
        for index, event in enumerate(rig.events):
            if event[0] == "run" and event[1] > 3:
                before = [e for e in rig.events[:index] if e[0] in ("run", "answer")]
                self.assertEqual(before[-1][0], "answer", rig.events)
        self.assertEqual((rig.scheduler.running, rig.active, list(rig.calls)), (0, {}, []))

    def test_calls_arriving_while_others_run_are_queued_and_started_in_order(self):
        rig = self.rig(2, [call(1, "steps", {"n": 6}),
                           call(2, "feed", {"msgs": [call(3, "steps", {"n": 1}), call(4, "steps")]})],
                       [call(5, "steps")])
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        self.assertEqual([e[1] for e in rig.of("run")], [1, 2, 3, 4, 5])
        self.assertEqual(set(rig.answers()), {1, 2, 3, 4, 5})

    def test_a_call_arriving_with_a_slot_free_starts_without_waiting_for_an_answer(self):
        rig = self.rig(3, [call(1, "gate", {"name": "g"}),
                           call(2, "feed", {"msgs": [call(3, "feed", {"release": "g"})]})])
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        # Call 3 opens the gate call 1 waits on: it was started while 1 still ran, with no answer
        # between its arrival (call 2 dispatched it) and its start to free a slot.
        run3 = next(i for i, e in enumerate(rig.events) if e[:2] == ("run", 3))
        self.assertLess(run3, rig.events.index(("answer", 1, "result")))
        self.assertEqual(rig.events[run3][2], 2)  # 1 and 3 in flight (2 answered meanwhile)

    def test_sync_generator_and_stream_calls_run_one_at_a_time_and_count_as_one_of_n(self):
        rig = self.rig(2, [call(1, "steps", {"n": 8}), call(2, "sync"), call(3, "gen"),
                           call(4, "emit", stream=True), call(5, "steps", {"n": 1}), call(6, "sync")])
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        self.assertEqual(rig.answers(), {1: "result", 2: "result", 3: "result", 4: "end", 5: "result", 6: "result"})
        results = {m["id"]: m.get("value") for m in rig.writer.sent if m["kind"] == "result"}
        self.assertEqual(results[2], 2)  # the sync call ran while task 1 was in flight: two slots taken
        self.assertEqual(results[3], [0, 1])
        # Each of them ran to its answer before anything else started.
        for call_id in (2, 3, 4):
            ran = next(i for i, e in enumerate(rig.events) if e[:2] == ("run", call_id))
            answered = rig.events.index(("answer", call_id, rig.answers()[call_id]))
            self.assertEqual([e for e in rig.events[ran + 1:answered] if e[0] == "run"], [])
        run4 = next(i for i, e in enumerate(rig.events) if e[:2] == ("run", 4))
        self.assertEqual(rig.events[run4 - 1][0], "cover")  # the stream had fd 3 read from its start

    def test_with_n_1_async_calls_run_one_at_a_time(self):
        rig = self.rig(1, [call(i, "steps", {"n": 3 - i}) for i in range(1, 4)])
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        self.assertEqual([e[:2] for e in rig.events if e[0] in ("run", "answer")],
                         [("run", 1), ("answer", 1), ("run", 2), ("answer", 2), ("run", 3), ("answer", 3)])
        self.assertFalse(rig.invoker.background)

    def test_fd3_is_read_at_once_only_while_a_slot_is_free(self):
        rig = self.rig(2, [call(1, "steps", {"n": 4}), call(2, "steps", {"n": 2})], [call(3, "steps", {"n": 2})])
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        covers = rig.of("cover")
        self.assertTrue(covers)
        self.assertEqual({running for _, running in covers}, {1})  # waiting with one slot free, never when full

    # --- cancel ----------------------------------------------------------------------------------

    def test_a_cancelled_queued_call_is_answered_at_once_and_never_runs(self):
        rig = self.rig(2, [call(1, "gate", {"name": "a"}),
                           call(2, "feed", {"msgs": [{"kind": "cancel", "id": 3}, {"kind": "cancel", "id": 4}],
                                            "release": "a"}),
                           call(3, "steps"), call(4, "steps", stream=True), call(5, "steps")])
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        self.assertEqual([e[1] for e in rig.of("run")], [1, 2, 5])
        self.assertEqual([e[1] for e in rig.of("start")], [1, 2, 5])
        self.assertEqual(rig.answers(), {1: "result", 2: "result", 3: "error", 4: "end", 5: "result"})
        error = next(m for m in rig.writer.sent if m["id"] == 3)
        self.assertEqual((error["type"], error["message"]), ("pyvisor.Cancelled", "call 3 was cancelled before it started"))
        # Answered when the cancel was read, before the calls that were running had answered.
        self.assertLess(rig.events.index(("answer", 3, "error")), rig.events.index(("answer", 2, "result")))

    def test_cancel_cancels_a_running_task_whose_finally_runs(self):
        for limit in (1, 2):
            with self.subTest(limit=limit):
                rig = self.rig(limit, [call(1, "cancellable", {"self_cancel": True}),
                                       call(2, "cancellable", {"self_cancel": True, "catch": True}),
                                       call(3, "cancellable", {"self_cancel": True}, stream=True),
                                       call(4, "steps")])
                self.assertEqual(rig.serve(), "done")
                self.assertContract(rig)
                self.assertEqual(rig.of("finally"), [("finally", 1, True), ("finally", 2, True), ("finally", 3, True)])
                self.assertEqual(rig.answers(), {1: "error", 2: "result", 3: "end", 4: "result"})
                sent = {m["id"]: m for m in rig.writer.sent}
                self.assertEqual((sent[1]["type"], sent[1]["message"]), ("pyvisor.Cancelled", "call 1 was cancelled"))
                self.assertEqual(sent[2]["value"], "caught")  # the handler decides

    def test_a_cancel_read_while_the_call_is_being_started_still_reaches_its_task(self):
        for limit in (1, 2):
            with self.subTest(limit=limit):
                rig = self.rig(limit, [call(1, "cancellable")])
                take = rig.take

                def take_then_cancel(calls):
                    ctx = take(calls)
                    rig.feed({"kind": "cancel", "id": ctx.id})  # off the queue, task not made yet
                    return ctx

                rig.take = take_then_cancel
                self.assertEqual(rig.serve(), "done")
                # The handler started (it had left the queue), and was cancelled at its first await.
                self.assertEqual(rig.of("start"), [("start", 1)])
                self.assertEqual(rig.of("finally"), [("finally", 1, True)])
                self.assertEqual(rig.answers(), {1: "error"})

    def test_cancel_interrupts_an_async_generator_at_its_await(self):
        for stream in (False, True):
            with self.subTest(stream=stream):
                rig = self.rig(2, [call(1, "agen", {"n": 5, "cancel_at": 2}, stream=stream), call(2, "steps")])
                self.assertEqual(rig.serve(), "done")
                self.assertContract(rig)
                self.assertEqual(rig.of("finally"), [("finally", 1, True)])
                first = next(m for m in rig.writer.sent if m["id"] == 1 and m["kind"] in FINAL)
                if stream:
                    self.assertEqual((len(rig.of("chunk")), first["kind"]), (2, "end"))
                else:  # like a sync generator: the items so far
                    self.assertEqual((first["kind"], first["value"]), ("result", [0, 1]))

    # --- stopping --------------------------------------------------------------------------------

    def test_shutdown_lets_started_calls_answer_and_starts_nothing_after_it(self):
        rig = self.rig(2, [call(1, "steps", {"n": 3}), call(2, "steps", {"n": 1}),
                           {"kind": "shutdown", "graceMs": 1}, call(3, "steps")])
        self.assertEqual(rig.serve(), "stopped")
        self.assertContract(rig)
        self.assertEqual(rig.answers(), {1: "result", 2: "result"})
        self.assertEqual([c.id for c in rig.calls], [3])  # left for the runtime to refuse
        self.assertEqual(rig.scheduler.running, 0)

    def test_sigterm_while_tasks_run_lets_them_answer_and_starts_no_queued_call(self):
        rig = self.rig(2, [call(1, "steps", {"n": 3}), call(2, "sigterm"), call(3, "steps")])
        self.assertEqual(rig.serve(), "stopped")
        self.assertContract(rig)
        self.assertEqual(rig.answers(), {1: "result", 2: "result"})
        self.assertEqual([c.id for c in rig.calls], [3])

    # --- wake-ups --------------------------------------------------------------------------------

    def test_a_call_queued_just_as_the_loop_starts_waiting_wakes_it(self):
        # The reader queues call 2 after the main thread last looked at the queue, just before it
        # blocks in the loop. Call 1 waits for a gate only call 2 opens: a lost wake-up would hang.
        arrived = []

        def reader():
            if not arrived:
                arrived.append(True)
                rig.feed(call(2, "feed", {"release": "g"}))

        rig = self.rig(2, [call(1, "gate", {"name": "g"})], on_cover=reader)
        self.assertEqual(rig.serve(), "done")
        self.assertContract(rig)
        self.assertEqual(rig.answers(), {1: "result", 2: "result"})

    def test_a_call_queued_just_before_the_loop_would_wait_is_started_without_waiting(self):
        rig = self.rig(2)
        rig.scheduler.running = 1  # a task in flight
        rig.feed(call(1, "steps"))  # queued while `waiting` was still False: no wake-up was sent
        rig.scheduler._wait()  # returns at once instead of blocking in the loop
        self.assertEqual((rig.of("cover"), rig.scheduler.waiting), ([], False))


if __name__ == "__main__":
    unittest.main()
