"""Stream flow control (`window` + `credit`) and cancellation of producers (docs/protocol.md)."""
import time
import unittest

from harness import Worker, WorkerTest


class FlowControlTest(WorkerTest):
    @classmethod
    def setUpClass(cls):
        cls.w = Worker()

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def assertQuiet(self, seconds=0.15):
        """Nothing arrives from the worker for a while (a producer is blocked on credit)."""
        with self.assertRaises(AssertionError):
            self.w.recv(timeout=seconds)

    def chunks(self, n):
        return [self.w.recv_kind("chunk")["value"] for _ in range(n)]

    def test_generator_waits_for_credit(self):
        call_id = self.w.start_call("count", {"n": 5}, stream=True, window=2)
        self.assertEqual(self.chunks(2), [0, 1])
        self.assertQuiet()
        self.w.send({"kind": "credit", "id": call_id, "n": 2})
        self.assertEqual(self.chunks(2), [2, 3])
        self.assertQuiet()
        self.w.send({"kind": "credit", "id": call_id, "n": 10})
        self.assertEqual(self.w.answer(call_id), [{"kind": "chunk", "id": call_id, "value": 4}, {"kind": "end", "id": call_id}])
        # Credit for a stream that has ended is normal and ignored.
        self.w.send({"kind": "credit", "id": call_id, "n": 1})
        self.assertEqual(self.w.call("noop")["kind"], "result")

    def test_async_generator_waits_for_credit(self):
        call_id = self.w.start_call("agen", {"n": 3}, stream=True, window=1)
        self.assertEqual(self.chunks(1), [0])
        self.assertQuiet()
        self.w.send({"kind": "credit", "id": call_id, "n": 2})
        self.assertEqual([f.get("value") for f in self.w.answer(call_id)], [10, 20, None])

    def test_emit_and_returned_value_wait_for_credit(self):
        call_id = self.w.start_call("emit_then_return", {"n": 2}, stream=True, window=1)
        self.assertEqual(self.chunks(1), [0])
        self.assertQuiet()
        self.w.send({"kind": "credit", "id": call_id, "n": 1})
        self.assertEqual(self.chunks(1), [1])
        self.assertQuiet()
        self.w.send({"kind": "credit", "id": call_id, "n": 1})
        self.assertEqual([f.get("value") for f in self.w.answer(call_id)], ["done", None])

    def test_credit_before_the_call_starts_counts(self):
        blocker = self.w.start_call("sleep_ms", {"ms": 100})
        call_id = self.w.start_call("count", {"n": 3}, stream=True, window=1)
        self.w.send({"kind": "credit", "id": call_id, "n": 2})
        self.assertEqual(self.w.answer(blocker)[-1]["value"], 100)
        self.assertEqual([f.get("value") for f in self.w.answer(call_id)], [0, 1, 2, None])

    def test_cancel_wakes_a_producer_blocked_on_credit(self):
        call_id = self.w.start_call("ticker", {"ms": 1}, stream=True, window=2)
        self.assertEqual(self.chunks(2), [0, 1])
        self.assertQuiet(0.1)
        start = time.monotonic()
        self.w.send({"kind": "cancel", "id": call_id})
        self.assertEqual(self.w.answer(call_id), [{"kind": "end", "id": call_id}])
        self.assertLess(time.monotonic() - start, 1)
        self.assertIn(b"ticker closed", self.w.out())

    def test_emit_returns_false_once_cancelled(self):
        call_id = self.w.start_call("emit_until_dropped", stream=True)
        self.assertEqual(self.chunks(3), [0, 1, 2])
        self.w.send({"kind": "cancel", "id": call_id})
        frames = self.w.answer(call_id)
        self.assertEqual(frames[-1], {"kind": "end", "id": call_id})
        self.assertEqual(self.w.call("noop")["kind"], "result")

    def test_window_is_ignored_without_stream(self):
        self.assertEqual(self.w.call("count", {"n": 4}, window=1)["value"], [0, 1, 2, 3])


class BadFlowControlTest(WorkerTest):
    def test_bad_window_or_credit_is_a_protocol_violation(self):
        for msg in ({"kind": "call", "id": 1, "name": "count", "args": {"n": 1}, "stream": True, "window": 0},
                    {"kind": "call", "id": 1, "name": "count", "args": {"n": 1}, "stream": True, "window": "2"},
                    {"kind": "credit", "id": 1, "n": 0},
                    {"kind": "credit", "id": 1}):
            with self.subTest(msg=msg):
                w = self.spawn()
                w.send(msg)
                self.assertExits(w, 3)


if __name__ == "__main__":
    unittest.main()
