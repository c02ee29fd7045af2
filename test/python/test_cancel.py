"""Gentle cancellation of sync handlers (cancel.py): real workers, the fixture test/fixtures/gentle.py.

Each test sends `cancel` for a started call and checks the answer and that the same process goes
on serving, frame stream intact (the next call's answer decodes and matches).
"""
import threading
import time
import unittest

import harness
from harness import WorkerTest

from pyvisor_worker.cancel import Cancelled, Guard, async_cancelled

IMPORTS = ("gentle",)


def cancelled_error(call_id):
    return {"kind": "error", "id": call_id, "type": "pyvisor.Cancelled", "message": f"call {call_id} was cancelled",
            "traceback": ""}


class GentleCancelTest(WorkerTest):
    def setUp(self):
        self.w = self.spawn(imports=IMPORTS)
        self.pid = self.w.call("pid")["value"]

    def cancel_after(self, call_id, seconds=0.1):
        time.sleep(seconds)  # let the handler enter its loop; the answer, not the sleep, is what is checked
        self.w.send({"kind": "cancel", "id": call_id})

    def assertServes(self):
        self.assertEqual(self.w.call("pid")["value"], self.pid)

    def test_a_pure_python_loop_is_interrupted_and_the_worker_lives_on(self):
        call_id = self.w.start_call("spin")
        self.cancel_after(call_id)
        self.assertEqual(self.w.answer(call_id), [cancelled_error(call_id)])
        self.assertServes()

    def test_finally_and_except_blocks_of_the_handler_run(self):
        for name, key in (("spin_and_clean", "finally"), ("spin_catching", "caught")):
            call_id = self.w.start_call(name)
            self.cancel_after(call_id)
            self.assertEqual(self.w.answer(call_id), [cancelled_error(call_id)])
        counters = self.w.call("counters")["value"]
        self.assertEqual((counters["finally"], counters["caught"]), (1, 1))

    def test_runtime_code_called_by_the_handler_is_never_cut_in_half(self):
        # log_forever spends most of its time writing frames: a Cancelled landing there would
        # corrupt the stream. Many rounds, each must leave a clean stream behind.
        for _ in range(20):
            call_id = self.w.start_call("log_forever")
            self.w.recv_kind("log")
            self.w.send({"kind": "cancel", "id": call_id})
            self.assertEqual(self.w.answer(call_id)[-1], cancelled_error(call_id))
            self.assertServes()

    def test_a_stream_emitting_in_a_loop_ends_cleanly(self):
        for _ in range(10):
            call_id = self.w.start_call("emit_forever", stream=True)
            self.assertEqual(self.w.recv()["kind"], "chunk")
            self.w.send({"kind": "cancel", "id": call_id})
            self.assertEqual(self.w.answer(call_id)[-1], {"kind": "end", "id": call_id})
            self.assertServes()

    def test_c_code_is_not_interrupted(self):
        call_id = self.w.start_call("sleep_in_c", {"s": 0.5})
        self.cancel_after(call_id)
        # Delivered when time.sleep returns: the call still ends as cancelled, just not before.
        self.assertEqual(self.w.answer(call_id), [cancelled_error(call_id)])
        self.assertServes()

    def test_an_async_handler_is_cancelled_as_a_task(self):
        call_id = self.w.start_call("async_wait")
        self.cancel_after(call_id)
        self.assertEqual(self.w.answer(call_id), [cancelled_error(call_id)])
        self.assertEqual(self.w.call("counters")["value"]["finally"], 1)


    def test_an_async_handler_spinning_without_an_await_is_interrupted_in_its_step(self):
        for args in ([], ["--concurrency", "4"]):
            with self.subTest(args=args):
                w = self.spawn(imports=IMPORTS, args=args)
                pid = w.call("pid")["value"]
                call_id = w.start_call("spin_async_and_clean")
                self.assertEqual(w.recv_kind("log")["message"], "spinning async")
                w.send({"kind": "cancel", "id": call_id})
                self.assertEqual(w.answer(call_id), [cancelled_error(call_id)])
                counters = w.call("counters")["value"]
                self.assertEqual((counters["async_caught"], counters["async_finally"]), (1, 1))
                self.assertEqual(w.call("pid")["value"], pid)


class GuardTest(unittest.TestCase):
    """The Guard's bookkeeping, with the raise recorded instead of sent to CPython."""

    def setUp(self):
        self.raised = []
        self.guard = Guard(main_thread_id=threading.get_ident(), raise_in=lambda tid, exc: self.raised.append(exc))
        self.ctx = harness.Context(None, {"kind": "call", "id": 1, "name": "h"})

    def interrupt(self, ctx):
        """guard.interrupt as the reader thread calls it (never on the thread it raises in)."""
        result = []
        reader = threading.Thread(target=lambda: result.append(self.guard.interrupt(ctx)))
        reader.start()
        reader.join()
        return result[0]

    def test_the_thread_it_raises_in_never_interrupts_itself_nor_pauses_for_others(self):
        self.guard.arm(self.ctx)
        self.assertFalse(self.guard.interrupt(self.ctx))  # this test's thread is the "main" one
        other = []
        thread = threading.Thread(target=lambda: other.append(self.guard.pause(self.ctx)))
        thread.start()
        thread.join()
        self.assertEqual(other, [None])
        self.assertIs(self.guard.armed, self.ctx)

    def test_only_the_armed_call_is_interrupted_and_only_once(self):
        self.assertFalse(self.interrupt(self.ctx))
        self.guard.arm(self.ctx)
        self.assertTrue(self.interrupt(self.ctx))
        self.assertFalse(self.interrupt(self.ctx))
        self.assertEqual(self.raised, [Cancelled])

    def test_disarm_takes_back_a_raise_not_yet_delivered(self):
        self.guard.arm(self.ctx)
        self.interrupt(self.ctx)
        self.guard.disarm()
        self.assertEqual(len(self.raised), 2)
        self.assertIsNot(self.raised[1], Cancelled)  # the NULL that clears it
        self.assertFalse(self.interrupt(self.ctx))

    def test_pause_takes_back_a_pending_raise_and_resume_raises_it(self):
        self.guard.arm(self.ctx)
        owed = self.guard.pause(self.ctx)
        self.assertFalse(owed)
        self.assertFalse(self.interrupt(self.ctx))  # paused: nothing raised in runtime code
        self.guard.resume(self.ctx, owed)
        self.interrupt(self.ctx)
        owed = self.guard.pause(self.ctx)
        self.assertTrue(owed)
        with self.assertRaises(Cancelled):
            self.guard.resume(self.ctx, owed)

    def test_a_call_cancelled_before_its_frame_runs_raises_at_arm(self):
        self.ctx._cancelled = True
        with self.assertRaises(Cancelled):
            self.guard.arm(self.ctx)


class StepGuardTest(unittest.TestCase):
    """The Guard around coroutine steps (armed.py): a cancel read while a step runs is raised only
    if that same step still runs `step_grace` later; the timer is recorded, and fired by the test."""

    interrupt = GuardTest.interrupt

    def setUp(self):
        self.raised = []
        self.timers = []
        self.guard = Guard(main_thread_id=threading.get_ident(), raise_in=lambda tid, exc: self.raised.append(exc),
                           timer=self.timer)
        self.ctx = harness.Context(None, {"kind": "call", "id": 1, "name": "h"})
        self.exc = async_cancelled()

    def timer(self, grace, fn, args):
        test = self

        class Timer:
            daemon = False

            def start(self):
                test.timers.append((grace, fn, args))

        return Timer()

    def fire(self):
        grace, fn, args = self.timers.pop()
        self.assertEqual(grace, self.guard.step_grace)
        return fn(*args)

    def test_a_step_still_running_after_the_grace_gets_the_cancel_raised_once(self):
        self.assertFalse(self.guard.arm_step(self.ctx, self.exc))
        self.ctx._cancelled = True
        self.assertFalse(self.interrupt(self.ctx))  # not at once: its next await may come first
        self.assertEqual(self.raised, [])
        self.assertTrue(self.fire())
        self.assertEqual(self.raised, [self.exc])
        self.assertTrue(self.ctx._reached)  # its task is not cancelled on top (context.py)
        self.assertFalse(self.interrupt(self.ctx))
        self.assertEqual(self.timers, [])

    def test_a_step_that_ended_within_the_grace_is_left_to_its_task(self):
        self.guard.arm_step(self.ctx, self.exc)
        self.ctx._cancelled = True
        self.interrupt(self.ctx)
        self.guard.disarm()
        self.assertFalse(self.fire())  # the step awaited: the task's cancel reaches it there
        self.assertTrue(self.guard.arm_step(self.ctx, self.exc))  # ... or its next step, at its start
        self.assertFalse(self.guard.arm_step(self.ctx, self.exc))  # and only once
        self.assertEqual(self.raised, [])

    def test_a_late_raise_for_an_earlier_step_does_not_land_in_a_later_one(self):
        self.guard.arm_step(self.ctx, self.exc)
        self.ctx._cancelled = True
        self.interrupt(self.ctx)
        self.guard.disarm()
        self.ctx._reached = True  # the task's cancel reached the await between the steps
        self.guard.arm_step(self.ctx, self.exc)
        self.assertFalse(self.fire())
        self.assertEqual(self.raised, [])

    def test_a_late_raise_while_paused_is_raised_when_the_step_resumes(self):
        self.guard.arm_step(self.ctx, self.exc)
        owed = self.guard.pause(self.ctx)
        self.ctx._cancelled = True
        self.interrupt(self.ctx)
        self.assertTrue(self.fire())
        self.assertEqual(self.raised, [])  # never in runtime code
        with self.assertRaises(self.exc):
            self.guard.resume(self.ctx, owed)

    def test_a_cancel_for_another_call_than_the_stepping_one_is_not_raised(self):
        other = harness.Context(None, {"kind": "call", "id": 2, "name": "h"})
        self.guard.arm_step(self.ctx, self.exc)
        other._cancelled = True
        self.assertFalse(self.interrupt(other))
        self.assertEqual((self.timers, self.raised), ([], []))

    def test_a_raise_taken_back_at_disarm_leaves_the_cancel_to_the_task(self):
        self.guard.arm_step(self.ctx, self.exc)
        self.ctx._cancelled = True
        self.interrupt(self.ctx)
        self.fire()
        self.guard.disarm()  # the step ended before CPython delivered it
        self.assertEqual(len(self.raised), 2)
        self.assertFalse(self.ctx._reached)


if __name__ == "__main__":
    unittest.main()
