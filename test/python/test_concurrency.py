"""`--concurrency N` end to end: real workers, the fixture test/fixtures/concurrency.py.

The ordering contract itself is proved step by step in test_schedule.py; here the real process
(both threads reading fd 3, the event loop, signals) must show the same. Where a test needs a
call to have started, it gets proof from the worker (the handler's "started" log, or an answer
that the call's start must precede) rather than sleeping.
"""
import os
import signal
import tempfile
import time
import unittest

from harness import WorkerTest

IMPORTS = ("basic", "concurrency")
FINAL = ("result", "error", "end")


class ConcurrencyTest(WorkerTest):
    def worker(self, n):
        return self.spawn(imports=IMPORTS, args=["--concurrency", str(n)] if n != 1 else [])

    def finals(self, w, count):
        """The next `count` final frames, in the order the worker wrote them."""
        frames = []
        while len(frames) < count:
            msg = w.recv_kind(*FINAL, "chunk")
            if msg["kind"] != "chunk":
                frames.append(msg)
        return frames

    def marker(self):
        fd, path = tempfile.mkstemp(prefix="pyvisor-marker-")
        os.close(fd)
        os.unlink(path)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        return path

    def started(self, w, call_id):
        """Waits for the "started" log of a cancellable or polls call."""
        self.assertEqual(w.recv_kind("log"), {"kind": "log", "level": "info", "message": f"started {call_id}"})

    def test_async_calls_overlap_up_to_n_and_never_more(self):
        w = self.worker(4)
        ids = [w.start_call("probe", {"ms": 300}) for _ in range(10)]
        frames = self.finals(w, 10)
        self.assertEqual(sorted(f["id"] for f in frames), ids)
        self.assertEqual(max(f["value"] for f in frames), 4)
        self.assertEqual(w.call("peak")["value"], 4)
        # Answers come as calls end, not in send order.
        fast = [w.start_call("sleepy", {"ms": 400}), w.start_call("sleepy", {"ms": 1})]
        self.assertEqual([f["id"] for f in self.finals(w, 2)], fast[::-1])

    def test_the_default_runs_one_call_at_a_time(self):
        w = self.worker(1)
        ids = [w.start_call("probe", {"ms": 20}) for _ in range(3)]
        self.assertEqual([(f["id"], f["value"]) for f in self.finals(w, 3)], [(i, 1) for i in ids])

    def test_a_sync_handler_takes_one_of_the_n_slots_and_holds_the_main_thread(self):
        w = self.worker(2)
        first, second = w.start_call("probe", {"ms": 300}), w.start_call("probe", {"ms": 300})
        blocked = w.start_call("block", {"ms": 1})  # both slots taken: it waits for an answer
        order = [f["id"] for f in self.finals(w, 3)]
        self.assertEqual(order[2], blocked)
        self.assertEqual(set(order[:2]), {first, second})
        # A sync handler holds the main thread: a task started after it cannot answer before it.
        slow, quick = w.start_call("block", {"ms": 200}), w.start_call("sleepy", {"ms": 1})
        self.assertEqual([f["id"] for f in self.finals(w, 2)], [slow, quick])

    def test_cancel_cancels_the_task_of_a_running_async_call(self):
        for n in (1, 3):
            with self.subTest(concurrency=n):
                w = self.worker(n)
                marker = self.marker()
                start = time.monotonic()
                call_id = w.start_call("cancellable", {"ms": 10000, "marker": marker})
                self.started(w, call_id)
                w.send({"kind": "cancel", "id": call_id})
                self.assertEqual(w.answer(call_id), [{"kind": "error", "id": call_id, "type": "pyvisor.Cancelled",
                                                      "message": f"call {call_id} was cancelled", "traceback": ""}])
                self.assertLess(time.monotonic() - start, 5)
                with open(marker) as f:
                    self.assertEqual(f.read(), "finally cancelled=True")
                self.assertEqual(w.call("sleepy", {"ms": 1})["value"], 1)  # the worker serves on

    def test_cancel_of_a_queued_call_answers_it_at_once_without_running_it(self):
        for n in (1, 2):
            with self.subTest(concurrency=n):
                w = self.worker(n)
                markers = [self.marker() for _ in range(n + 2)]
                # n calls fill the slots (and never end by themselves); two more wait in the queue.
                running = [w.start_call("cancellable", {"ms": 60000, "marker": m}) for m in markers[:n]]
                for call_id in running:
                    self.started(w, call_id)
                queued = w.start_call("cancellable", {"ms": 1, "marker": markers[n]})
                stream = w.start_call("cancellable", {"ms": 1, "marker": markers[n + 1]}, stream=True)
                w.send({"kind": "cancel", "id": queued})
                w.send({"kind": "cancel", "id": stream})
                self.assertEqual(self.finals(w, 2), [
                    {"kind": "error", "id": queued, "type": "pyvisor.Cancelled",
                     "message": f"call {queued} was cancelled before it started", "traceback": ""},
                    {"kind": "end", "id": stream}])
                self.assertFalse(os.path.exists(markers[n]) or os.path.exists(markers[n + 1]))
                for call_id in running:
                    w.send({"kind": "cancel", "id": call_id})
                self.assertEqual(sorted(f["id"] for f in self.finals(w, n)), running)
                self.assertFalse(os.path.exists(markers[n]) or os.path.exists(markers[n + 1]))

    def test_cancel_interrupts_a_sync_handler_among_tasks(self):
        w = self.worker(2)
        call_id = w.start_call("polls", {"ms": 5000})
        self.started(w, call_id)
        w.send({"kind": "cancel", "id": call_id})
        self.assertEqual(w.answer(call_id), [{"kind": "error", "id": call_id, "type": "pyvisor.Cancelled",
                                              "message": f"call {call_id} was cancelled", "traceback": ""}])

    def test_many_pipelined_calls_of_every_kind_are_each_answered_once(self):
        w = self.worker(3)
        expected = {}
        for i in range(60):
            if i % 4 == 3:
                expected[w.start_call("add", [i, 1])] = i + 1
            else:
                expected[w.start_call("sleepy", {"ms": (i * 7) % 13})] = (i * 7) % 13
        frames = self.finals(w, len(expected))
        self.assertEqual({f["id"]: f["value"] for f in frames}, expected)
        self.assertEqual(len(frames), len({f["id"] for f in frames}))

    def test_shutdown_finishes_the_calls_sent_before_it(self):
        w = self.worker(2)
        ids = [w.start_call("sleepy", {"ms": 100}), w.start_call("sleepy", {"ms": 100}), w.start_call("sleepy", {"ms": 1})]
        w.send({"kind": "shutdown", "graceMs": 1000})
        late = w.start_call("sleepy", {"ms": 1})
        frames = {f["id"]: f for f in self.finals(w, 4)}
        self.assertEqual([frames[i]["value"] for i in ids], [100, 100, 1])
        self.assertEqual(frames[late]["type"], "pyvisor.ShuttingDown")
        self.assertExits(w, 0)

    def test_sigterm_lets_the_started_calls_answer_and_refuses_the_queued(self):
        w = self.worker(2)
        ids = [w.start_call("sleepy", {"ms": 300}), w.start_call("sleepy", {"ms": 300})]
        queued = w.start_call("sleepy", {"ms": 1})
        time.sleep(0.1)  # both started, the third queued: the slots are full for 300 ms
        w.proc.send_signal(signal.SIGTERM)
        frames = {f["id"]: f for f in self.finals(w, 3)}
        self.assertEqual([frames[i].get("value") for i in ids], [300, 300])
        self.assertEqual(frames[queued]["type"], "pyvisor.ShuttingDown")
        self.assertExits(w, 0)

    def test_sys_exit_in_a_handler_task_fails_its_call_only(self):
        w = self.worker(2)
        slow = w.start_call("sleepy", {"ms": 300})
        left = w.start_call("leave", {"code": 5})
        frames = {f["id"]: f for f in self.finals(w, 2)}
        self.assertEqual((frames[left]["kind"], frames[left]["type"]), ("error", "SystemExit"))
        self.assertEqual(frames[slow]["value"], 300)

    def test_sys_exit_in_a_task_of_the_users_own_ends_the_worker_with_code_4(self):
        w = self.worker(2)
        w.call("exit_in_own_task", {"code": 3})
        w.start_call("sleepy", {"ms": 2000})  # the loop runs: the user's task raises
        self.assertExits(w, 4)
        self.assertIn("SystemExit(3) outside any call", w.err())

    def test_concurrency_must_be_at_least_1(self):
        w = self.spawn(imports=IMPORTS, args=["--concurrency", "0"], handshake=False)
        self.assertExits(w, 2)
        self.assertIn("--concurrency must be at least 1", w.err())


if __name__ == "__main__":
    unittest.main()
