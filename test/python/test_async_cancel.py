"""Gentle cancellation of coroutines that run Python code (armed.py), in process.

The real Guard raises with PyThreadState_SetAsyncExc in this (the main) thread; a second thread
plays the reader of fd 3 and dispatches the `cancel` once the handler says it spins; the raise
comes from the Guard's timer STEP_GRACE later, since the step is still running then. A coroutine
that never awaits can only be stopped that way: were it not, the watchdog alarm would end the test
as a failure. (The timer's rules themselves: test_cancel.py StepGuardTest, without a clock.)
"""
import asyncio
import collections
import signal
import threading
import unittest

from harness import HandlersTest, RecordingWriter, call_message, watchdog

from pyvisor_worker import Cancelled, Context, handler
from pyvisor_worker.armed import Armed
from pyvisor_worker.cancel import Guard, async_cancelled
from pyvisor_worker.dispatch import Dispatcher
from pyvisor_worker.host_calls import HostCalls
from pyvisor_worker.invoke import Invoker
from pyvisor_worker.link import Link

PREFIX = "acx_"
RIG = None  # the Rig of the running test, for the handlers below


def _register():
    @handler("acx_spin")
    async def spin(ctx, cleanup_awaits=False):
        RIG.events.append(("start", ctx.id))
        try:
            RIG.spinning.set()
            while True:  # never reaches an await
                pass
        except asyncio.CancelledError as exc:
            RIG.events.append(("caught", ctx.id, isinstance(exc, Cancelled)))
            if cleanup_awaits:  # the cancel reached the coroutine once: cleanup may await
                await asyncio.sleep(0)
                RIG.events.append(("cleaned", ctx.id))
            raise
        finally:
            RIG.events.append(("finally", ctx.id, ctx.cancelled))

    @handler("acx_spin_until")
    async def spin_until(ctx):
        """Spins until the reader thread says so: a cancel for another call must not land here."""
        RIG.events.append(("start", ctx.id))
        RIG.spinning.set()
        while not RIG.go_on.is_set():
            pass
        await asyncio.sleep(0)
        return "spun"

    @handler("acx_steps")
    async def steps(ctx, n=3):
        RIG.events.append(("start", ctx.id))
        try:
            for _ in range(n):
                await asyncio.sleep(0)
            return "stepped"
        finally:
            RIG.events.append(("finally", ctx.id, ctx.cancelled))

    @handler("acx_agen")
    async def agen(ctx):
        try:
            yield 0
            RIG.spinning.set()
            while True:
                pass
        finally:
            RIG.events.append(("finally", ctx.id, ctx.cancelled))


class Rig:
    """An Invoker with a real Guard, and the Dispatcher a reader thread uses to cancel."""

    def __init__(self, background):
        global RIG
        RIG = self
        self.events = []
        self.spinning = threading.Event()
        self.go_on = threading.Event()
        self.writer = RecordingWriter()
        self.active = {}
        self.guard = Guard(main_thread_id=threading.get_ident())
        self.invoker = Invoker(self.writer, self.active, background=background, guard=self.guard)
        self.invoker.released = lambda: self.events.append(("released",))
        self.loop = self.invoker._event_loop()
        self.link = Link(self.writer, HostCalls(self.writer.send), self.active, self.guard)
        self.dispatcher = Dispatcher(self.writer, self.link, collections.deque(), self.active, None,
                                     self.invoker.cancel_queued, interrupt=self.guard.interrupt)
        self.next_id = 0

    def close(self):
        self.loop.close()
        asyncio.set_event_loop(None)

    def context(self, name, args=None, **extra):
        self.next_id += 1
        ctx = Context(self.link, call_message(self.next_id, PREFIX + name, args, **extra))
        self.active[ctx.id] = ctx
        return ctx

    def cancel(self, call_id):
        self.dispatcher.dispatch(self.writer.codec.encode({"kind": "cancel", "id": call_id}))

    def reader(self, *actions):
        """A thread acting as the reader of fd 3: once the handler spins, each action in turn."""
        def read():
            self.spinning.wait()
            for action in actions:
                action()

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        return thread

    def answer(self, call_id):
        return [m for m in self.writer.sent if m.get("id") == call_id and m["kind"] in ("result", "error", "end")]

    def answered(self):
        return {m["id"] for m in self.writer.sent if m["kind"] in ("result", "error", "end")}

    def run_until_answered(self, *ids):
        """Background: run the loop until every call in ids has its answer."""
        async def wait():
            while not set(ids) <= self.answered():
                await asyncio.sleep(0)

        self.loop.run_until_complete(wait())


def cancelled(call_id):
    return [{"kind": "error", "id": call_id, "type": "pyvisor.Cancelled", "message": f"call {call_id} was cancelled",
             "traceback": ""}]


class AsyncCancelTest(HandlersTest):
    prefix = PREFIX
    register = staticmethod(_register)

    def setUp(self):
        watchdog(self, "the spinning coroutine was never interrupted")

    def rig(self, background=False):
        signal.setitimer(signal.ITIMER_REAL, 10)  # each run of a spinning handler gets its own alarm
        rig = Rig(background)
        self.addCleanup(rig.close)
        return rig

    def test_a_spinning_coroutine_is_interrupted_where_it_runs_and_cleans_up(self):
        for background in (False, True):
            for cleanup_awaits in (False, True):
                with self.subTest(background=background, cleanup_awaits=cleanup_awaits):
                    rig = self.rig(background)
                    ctx = rig.context("spin", {"cleanup_awaits": cleanup_awaits})
                    reader = rig.reader(lambda ctx=ctx: rig.cancel(ctx.id))
                    if rig.invoker.run(ctx):
                        rig.run_until_answered(ctx.id)
                    reader.join()
                    self.assertEqual(rig.answer(ctx.id), cancelled(ctx.id))
                    # Caught as asyncio.CancelledError, and it is a Cancelled too; finally ran.
                    expected = [("start", 1), ("caught", 1, True)] + [("cleaned", 1)] * cleanup_awaits \
                        + [("finally", 1, True)] + [("released",)] * background
                    self.assertEqual(rig.events, expected)
                    self.assertEqual((rig.active, rig.guard.armed), ({}, None))

    def test_the_worker_serves_on_after_an_interrupted_coroutine(self):
        rig = self.rig()
        ctx = rig.context("spin")
        reader = rig.reader(lambda: rig.cancel(ctx.id))
        rig.invoker.run(ctx)
        reader.join()
        self.assertEqual(rig.answer(ctx.id), cancelled(ctx.id))
        after = rig.context("steps")
        rig.invoker.run(after)
        self.assertEqual(rig.answer(after.id), [{"kind": "result", "id": after.id, "value": "stepped"}])

    def test_with_two_tasks_only_the_spinning_one_is_interrupted(self):
        rig = self.rig(background=True)
        other = rig.context("steps", {"n": 50})
        spinner = rig.context("spin")
        self.assertTrue(rig.invoker.run(other))
        self.assertTrue(rig.invoker.run(spinner))
        reader = rig.reader(lambda: rig.cancel(spinner.id))
        rig.run_until_answered(other.id, spinner.id)
        reader.join()
        self.assertEqual(rig.answer(spinner.id), cancelled(spinner.id))
        self.assertEqual(rig.answer(other.id), [{"kind": "result", "id": other.id, "value": "stepped"}])
        self.assertIn(("finally", other.id, False), rig.events)

    def test_a_cancel_for_a_suspended_task_never_lands_in_the_one_that_runs(self):
        rig = self.rig(background=True)
        waiting = rig.context("steps", {"n": 50})
        spinner = rig.context("spin_until")
        rig.invoker.run(waiting)
        rig.invoker.run(spinner)
        # Read while spin_until runs armed: `waiting` is cancelled at its await, spin_until goes on.
        reader = rig.reader(lambda: rig.cancel(waiting.id), rig.go_on.set)
        rig.run_until_answered(waiting.id, spinner.id)
        reader.join()
        self.assertEqual(rig.answer(spinner.id), [{"kind": "result", "id": spinner.id, "value": "spun"}])
        self.assertEqual(rig.answer(waiting.id), cancelled(waiting.id))
        self.assertIn(("finally", waiting.id, True), rig.events)

    def test_a_cancel_read_before_the_first_step_is_thrown_into_it(self):
        # The cancel is read after the task was made, while no step runs: the task would only be
        # cancelled after its first step, which spins. The step is told when it is armed.
        rig = self.rig(background=True)
        ctx = rig.context("spin")
        rig.invoker.run(ctx)
        ctx._cancel()
        rig.run_until_answered(ctx.id)
        self.assertEqual(rig.answer(ctx.id), cancelled(ctx.id))
        self.assertEqual(rig.events, [("released",)])  # the handler's body never ran

    def test_an_async_generator_step_that_spins_is_interrupted(self):
        rig = self.rig()
        ctx = rig.context("agen", stream=True)
        reader = rig.reader(lambda: rig.cancel(ctx.id))
        rig.invoker.run(ctx)
        reader.join()
        self.assertEqual([m["kind"] for m in rig.writer.sent], ["chunk", "end"])
        self.assertEqual(rig.events, [("finally", ctx.id, True)])


class ArmedTest(unittest.TestCase):
    """Armed's own lines, with a Guard whose raise is recorded (no thread, no CPython raise)."""

    def setUp(self):
        self.guard = Guard(main_thread_id=threading.get_ident(), raise_in=lambda tid, exc: None)
        self.ctx = Context(None, {"kind": "call", "id": 1, "name": "h"})
        self.exc = async_cancelled()

    def test_the_class_raised_in_a_step_is_both_cancelled_errors(self):
        self.assertTrue(issubclass(self.exc, Cancelled))
        self.assertTrue(issubclass(self.exc, asyncio.CancelledError))

    def test_each_step_runs_armed_and_nothing_stays_armed_after_it(self):
        seen = []

        async def coro():
            seen.append(self.guard.armed)
            await asyncio.sleep(0)
            seen.append(self.guard.armed)
            return "done"

        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        task = loop.create_task(Armed(coro(), self.ctx, self.guard, self.exc))
        self.assertEqual(loop.run_until_complete(task), "done")
        self.assertEqual((seen, self.guard.armed), ([self.ctx, self.ctx], None))

    def test_a_cancel_landing_around_the_step_is_thrown_into_the_coroutine(self):
        # As if CPython delivered the raise in arm_step's own lines, before the coroutine ran.
        events = []
        arm_step = self.guard.arm_step

        def landing(ctx, exc):
            self.guard.arm_step = arm_step
            arm_step(ctx, exc)
            raise exc()

        async def coro():
            try:
                events.append("ran")
                await asyncio.sleep(0)
            finally:
                events.append("finally")

        inner = coro()
        armed = Armed(inner, self.ctx, self.guard, self.exc)
        self.assertIsNone(armed.send(None))  # the first step: suspended at its sleep
        self.guard.arm_step = landing
        with self.assertRaises(self.exc):
            armed.send(None)
        self.assertEqual(events, ["ran", "finally"])
        self.assertIsNone(inner.cr_frame)
        self.assertIsNone(self.guard.armed)


if __name__ == "__main__":
    unittest.main()
