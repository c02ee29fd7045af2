"""A Context reaches the runtime only through its Link (pyvisor_worker/link.py): a fake link is enough."""
import time
import unittest

import harness

from pyvisor_worker import Context, HostCallTimeout
from pyvisor_worker.host_calls import HostCalls
from pyvisor_worker.link import Link


class FakeLink:
    """Exactly Link's surface; records what the Context asks for."""

    guard = None

    def __init__(self):
        self.sent = []
        self.host = []
        self.open = True
        self.codec = harness.CODECS[harness.OFFERED[0]]

    def send(self, msg):
        self.codec.encode(msg)
        self.sent.append(msg)

    def call_host(self, name, args, timeout, call=None):
        self.host.append((name, args, timeout, call))
        return "answer"

    def is_open(self, ctx):
        return self.open


def context(link, **msg):
    return Context(link, {"kind": "call", "id": 4, "name": "h", **msg})


class ContextTest(unittest.TestCase):
    def test_link_surface_is_all_a_context_uses(self):
        surface = {name for name in dir(Link) if not name.startswith("_")} | {"send", "call_host"}
        self.assertEqual(surface, {"send", "call_host", "is_open", "codec", "guard"})
        self.assertNotIn("_rt", Context.__slots__)

    def test_emit_log_and_call_host_go_through_the_link(self):
        link = FakeLink()
        ctx = context(link, stream=True)
        self.assertTrue(ctx.emit({"i": 1}))
        ctx.log("info", 42)
        self.assertEqual(ctx.call_host("store.get", {"key": "k"}, timeout=2), "answer")
        self.assertEqual(link.sent, [{"kind": "chunk", "id": 4, "value": {"i": 1}},
                                     {"kind": "log", "level": "info", "message": "42"}])
        # The host call names the call it is made for: the host scopes it by that call's session.
        self.assertEqual(link.host, [("store.get", {"key": "k"}, 2, ctx.id)])

    def test_emit_needs_an_open_stream_call(self):
        link = FakeLink()
        with self.assertRaisesRegex(RuntimeError, "stream"):
            context(link).emit(1)
        ctx = context(link, stream=True)
        link.open = False
        with self.assertRaisesRegex(RuntimeError, "already been answered"):
            ctx.emit(1)
        self.assertEqual(link.sent, [])

    def test_credit_and_cancel(self):
        link = FakeLink()
        ctx = context(link, stream=True, window=1)
        self.assertTrue(ctx.emit(0))
        ctx._grant(2)
        self.assertTrue(ctx.emit(1))
        self.assertTrue(ctx.emit(2))
        ctx._cancel()
        self.assertTrue(ctx.cancelled)
        self.assertFalse(ctx.emit(3))  # out of credit, but cancelled: returns at once
        self.assertEqual([m["value"] for m in link.sent], [0, 1, 2])

    def test_bad_log_level_sends_nothing(self):
        link = FakeLink()
        with self.assertRaises(ValueError):
            context(link).log("loud", "x")
        self.assertEqual(link.sent, [])


class DeadlineTest(unittest.TestCase):
    def test_no_timeout_no_deadline(self):
        ctx = context(FakeLink())
        self.assertIsNone(ctx.deadline)
        self.assertIsNone(ctx.time_left())

    def test_the_budget_becomes_a_monotonic_deadline_and_time_left_counts_down(self):
        before = time.monotonic()
        ctx = context(FakeLink(), deadline=1500)
        after = time.monotonic()
        self.assertGreaterEqual(ctx.deadline, before + 1.5)
        self.assertLessEqual(ctx.deadline, after + 1.5)
        left = ctx.time_left()
        self.assertLessEqual(left, 1.5)
        self.assertGreater(left, 0.5)
        self.assertLessEqual(ctx.time_left(), left)

    def test_time_left_never_goes_negative(self):
        ctx = context(FakeLink(), deadline=0)
        time.sleep(0.002)
        self.assertEqual(ctx.time_left(), 0.0)


class LinkTest(unittest.TestCase):
    def test_is_open_is_about_this_context_not_just_its_id(self):
        active = {}
        writer = harness.RecordingWriter()
        link = Link(writer, HostCalls(writer.send), active)
        old = context(link)
        self.assertFalse(link.is_open(old))
        active[4] = old
        self.assertTrue(link.is_open(old))
        active[4] = context(link)  # the host reused id 4 for a new call
        self.assertFalse(link.is_open(old))

    def test_codec_follows_the_writer(self):
        writer = harness.RecordingWriter()
        link = Link(writer, HostCalls(writer.send), {})
        self.assertIs(link.codec, writer.codec)
        writer.codec = object()  # the handshake switches codecs after the Link exists
        self.assertIs(link.codec, writer.codec)

    def test_host_calls_go_out_through_the_writer(self):
        writer = harness.RecordingWriter()
        host_calls = HostCalls(writer.send)
        link = Link(writer, host_calls, {})
        with self.assertRaises(HostCallTimeout):
            link.call_host("name", None, 0)  # no host here: times out at once
        self.assertEqual(writer.sent, [{"kind": "host_call", "id": 1, "name": "name", "args": {}}])


if __name__ == "__main__":
    unittest.main()
