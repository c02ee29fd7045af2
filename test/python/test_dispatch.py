"""What each frame kind does (pyvisor_worker/dispatch.py), in process: no worker, no fd, no thread."""
import collections
import time
import unittest

from harness import RecordingWriter

from pyvisor_worker import Context, HostCallError
from pyvisor_worker.dispatch import STOP, Dispatcher
from pyvisor_worker.host_calls import HostCalls
from pyvisor_worker.invoke import Invoker
from pyvisor_worker.link import Link
from pyvisor_worker.protocol import ProtocolViolation


class Rig:
    def __init__(self):
        self.writer = RecordingWriter()
        self.calls = collections.deque()
        self.active = {}
        self.host_out = []
        self.host_calls = HostCalls(self.host_out.append)
        self.link = Link(self.writer, self.host_calls, self.active)
        self.queued = []  # len(calls) each time the dispatch told the scheduler it queued something
        self.dispatcher = Dispatcher(self.writer, self.link, self.calls, self.active, self.host_calls,
                                     Invoker(self.writer, self.active).cancel_queued,
                                     lambda: self.queued.append(len(self.calls)))

    def feed(self, msg):
        self.dispatcher.dispatch(self.writer.codec.encode(msg))


class DispatchTest(unittest.TestCase):
    def setUp(self):
        self.rig = Rig()

    def test_calls_are_queued_in_stream_order_and_findable_by_id(self):
        rig = self.rig
        rig.feed({"kind": "call", "id": 1, "name": "add", "args": [1, 2], "session": "s", "deadline": 9})
        rig.feed({"kind": "call", "id": 2, "name": "count", "stream": True, "window": 2})
        first, second = rig.calls
        self.assertIsInstance(first, Context)
        self.assertEqual((first.id, first.name, first.args, first.session, first.stream),
                         (1, "add", [1, 2], "s", False))
        # `deadline` arrives as ms left and becomes a monotonic moment, 9 ms from its reading.
        self.assertLessEqual(first.deadline, time.monotonic() + 0.009)
        self.assertGreater(first.deadline, time.monotonic() - 1)
        self.assertEqual((second.stream, second._credit), (True, 2))
        self.assertEqual(rig.active, {1: first, 2: second})
        self.assertIs(first._link, rig.link)
        self.assertEqual(rig.writer.sent, [])  # nothing is answered by the reader

    def test_a_deadline_that_is_not_a_number_of_ms_is_a_violation(self):
        for bad in ("9", -1, [1], True, float("nan")):
            with self.subTest(deadline=bad), self.assertRaises(ProtocolViolation):
                self.rig.feed({"kind": "call", "id": 1, "name": "x", "deadline": bad})
        self.assertEqual(list(self.rig.calls), [])

    def test_ping_is_answered_by_the_reader_at_once(self):
        self.rig.feed({"kind": "ping", "id": 5})
        self.assertEqual(self.rig.writer.sent, [{"kind": "pong", "id": 5}])
        self.assertEqual(list(self.rig.calls), [])

    def test_calls_and_shutdown_tell_the_scheduler_once_queued(self):
        rig = self.rig
        rig.feed({"kind": "call", "id": 1, "name": "x"})
        rig.feed({"kind": "ping", "id": 2})
        rig.feed({"kind": "shutdown", "graceMs": 1})
        self.assertEqual(rig.queued, [1, 2])

    def test_cancel_of_a_started_call_marks_it_and_a_late_one_is_ignored(self):
        rig = self.rig
        rig.feed({"kind": "call", "id": 1, "name": "x"})
        ctx = rig.calls.popleft()  # the main thread started it
        rig.feed({"kind": "cancel", "id": 1})
        self.assertTrue(ctx.cancelled)
        self.assertIs(rig.active[1], ctx)  # still running: its handler answers it
        rig.feed({"kind": "cancel", "id": 99})
        self.assertEqual(rig.writer.sent, [])

    def test_cancel_of_a_queued_call_answers_it_at_once_and_keeps_the_order_of_the_rest(self):
        rig = self.rig
        for call_id, extra in ((1, {}), (2, {}), (3, {"stream": True}), (4, {})):
            rig.feed({"kind": "call", "id": call_id, "name": "x", **extra})
        rig.feed({"kind": "shutdown", "graceMs": 1})
        rig.feed({"kind": "cancel", "id": 2})
        rig.feed({"kind": "cancel", "id": 3})
        self.assertEqual([c if c is STOP else c.id for c in rig.calls], [1, 4, STOP])
        self.assertEqual(rig.writer.sent, [
            {"kind": "error", "id": 2, "type": "pyvisor.Cancelled",
             "message": "call 2 was cancelled before it started", "traceback": ""},
            {"kind": "end", "id": 3}])  # a stream ends as a cancelled stream does
        self.assertEqual(sorted(rig.active), [1, 4])
        rig.feed({"kind": "cancel", "id": 2})  # already answered: ignored
        self.assertEqual(len(rig.writer.sent), 2)

    def test_credit_adds_to_the_window_and_is_ignored_after_the_stream(self):
        rig = self.rig
        rig.feed({"kind": "call", "id": 1, "name": "x", "stream": True, "window": 1})
        rig.feed({"kind": "credit", "id": 1, "n": 3})
        self.assertEqual(rig.calls[0]._credit, 4)
        rig.feed({"kind": "credit", "id": 7, "n": 3})
        self.assertEqual(rig.writer.sent, [])

    def test_host_answers_complete_the_waiting_host_call(self):
        rig = self.rig

        def host(msg):  # the host answers while the call is being sent: no thread needed
            rig.host_out.append(msg)
            reply = replies.pop(0)
            reply["id"] = msg["id"]
            rig.feed(reply)

        rig.host_calls._send = host
        replies = [{"kind": "host_result", "value": {"v": 1}},
                   {"kind": "host_error", "type": "KeyError", "message": "k"}]
        self.assertEqual(rig.host_calls.call("get", {"key": "k"}, None), {"v": 1})
        with self.assertRaises(HostCallError) as caught:
            rig.host_calls.call("get", None, None)
        self.assertEqual((caught.exception.type, caught.exception.message), ("KeyError", "k"))
        self.assertEqual([(m["name"], m["args"]) for m in rig.host_out], [("get", {"key": "k"}), ("get", {})])

    def test_a_host_answer_nobody_waits_for_is_logged(self):
        self.rig.feed({"kind": "host_result", "id": 3, "value": 1})
        self.rig.feed({"kind": "host_error", "id": 4, "type": "E", "message": "m"})
        self.assertEqual([(m["kind"], m["level"]) for m in self.rig.writer.sent], [("log", "warning")] * 2)
        self.assertIn("host call 3", self.rig.writer.sent[0]["message"])

    def test_shutdown_is_queued_in_stream_order(self):
        rig = self.rig
        rig.feed({"kind": "call", "id": 1, "name": "x"})
        rig.feed({"kind": "shutdown", "graceMs": 1000})
        rig.feed({"kind": "call", "id": 2, "name": "y"})
        self.assertEqual([c if c is STOP else c.id for c in rig.calls], [1, STOP, 2])

    def test_unknown_kinds_are_logged_not_fatal(self):
        for kind in ("gossip", None, ["call"], {"k": 1}, 7):
            with self.subTest(kind=kind):
                rig = Rig()
                rig.feed({"kind": kind, "id": 1} if kind is not None else {"id": 1})
                self.assertEqual(rig.writer.kinds(), ["log"])
                self.assertEqual(rig.writer.sent[0]["level"], "warning")
                self.assertEqual(list(rig.calls), [])

    def test_a_window_without_stream_is_not_checked(self):
        self.rig.feed({"kind": "call", "id": 1, "name": "x", "window": 0})
        self.assertIsNone(self.rig.calls[0]._credit)

    def test_malformed_frames_are_protocol_violations(self):
        codec = self.rig.writer.codec
        bad = [b"\xc1\xff{[", codec.encode([1, 2]), codec.encode("call")]
        for msg in ({"kind": "call", "name": "x"}, {"kind": "call", "id": "1", "name": "x"},
                    {"kind": "call", "id": -1, "name": "x"}, {"kind": "call", "id": 2 ** 32, "name": "x"},
                    {"kind": "call", "id": True, "name": "x"}, {"kind": "call", "id": 1.0, "name": "x"},
                    {"kind": "call", "id": 1, "name": "x", "stream": True, "window": 0},
                    {"kind": "call", "id": 1, "name": "x", "stream": True, "window": "2"},
                    {"kind": "ping"}, {"kind": "cancel", "id": None},
                    {"kind": "credit", "id": 1, "n": 0}, {"kind": "credit", "id": 1},
                    {"kind": "host_result", "value": 1}, {"kind": "host_error", "id": "x"}):
            bad.append(codec.encode(msg))
        for payload in bad:
            with self.subTest(payload=payload):
                rig = Rig()
                with self.assertRaises(ProtocolViolation):
                    rig.dispatcher.dispatch(payload)
                self.assertEqual((rig.writer.sent, list(rig.calls), rig.active), ([], [], {}))


if __name__ == "__main__":
    unittest.main()
