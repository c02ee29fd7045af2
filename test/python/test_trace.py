"""ctx.trace: spans recorded in Python travel on the call's final frame (trace.py, invoke.py)."""
import asyncio
import time
import unittest

import harness

from pyvisor_worker import handler

PREFIX = "tr_"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


def _register():
    @handler("tr_nested")
    def nested(ctx, n):
        with ctx.trace.span("outer", {"n": n, "big": 1 << 70, "obj": object, "list": [1, "a", None]}) as outer:
            outer.set_attribute("rows", 3)
            with ctx.trace.span("inner") as inner:
                inner.add_event("halfway", {"pct": 50})
        with ctx.trace.span("second"):
            pass
        return ctx.trace.traceparent

    @handler("tr_raises")
    def raises(ctx):
        with ctx.trace.span("doomed"):
            raise ValueError("no good")

    @handler("tr_caught")
    def caught(ctx):
        try:
            with ctx.trace.span("failing"):
                raise KeyError("k")
        except KeyError:
            pass
        with ctx.trace.span("marked") as span:
            span.set_status(False, "by hand")
        return "ok"

    @handler("tr_stream")
    def stream(ctx):
        for i in range(2):
            with ctx.trace.span("item", {"i": i}):
                yield i

    @handler("tr_async")
    async def concurrent(ctx):
        async def step(name):
            with ctx.trace.span(name):
                await asyncio.sleep(0.01)
                with ctx.trace.span(name + ".child"):
                    await asyncio.sleep(0)

        with ctx.trace.span("parent"):
            await asyncio.gather(step("a"), step("b"))
        return True

    @handler("tr_plain")
    def plain(ctx):
        return ctx.id

    @handler("tr_enabled")
    def enabled(ctx):
        with ctx.trace.span("nothing") as span:
            span.set_attribute("x", 1)
        return ctx.trace.enabled


class TraceTest(harness.InvokerTest):
    prefix = PREFIX
    register = staticmethod(_register)

    def final(self, name, args=None, **extra):
        ctx = self.context(name, args, **extra)
        before = time.time() * 1000
        self.invoker.run(ctx)
        after = time.time() * 1000
        frame = self.writer.sent[-1]
        self.assertIn(frame["kind"], ("result", "error", "end"))
        for span in frame.get("spans", []):
            self.assertLessEqual(before - 1, span["start"])
            self.assertLessEqual(span["start"], span["end"])
            self.assertLessEqual(span["end"], after + 1)
        return frame

    def test_spans_nest_and_carry_sanitised_attributes_and_events(self):
        frame = self.final("tr_nested", {"n": 2}, traceparent=TRACEPARENT)
        self.assertEqual(frame["value"], TRACEPARENT)
        spans = {s["name"]: s for s in frame["spans"]}
        self.assertEqual([s["name"] for s in frame["spans"]], ["inner", "outer", "second"])  # in the order they ended
        self.assertEqual((spans["outer"]["id"], spans["outer"]["parent"]), (1, 0))
        self.assertEqual((spans["inner"]["id"], spans["inner"]["parent"]), (2, 1))
        self.assertEqual((spans["second"]["id"], spans["second"]["parent"]), (3, 0))
        self.assertEqual(spans["outer"]["attributes"],
                         {"n": 2, "big": str(1 << 70), "obj": str(object), "list": [1, "a", "None"], "rows": 3})
        self.assertEqual(spans["outer"]["status"], "ok")
        self.assertEqual([e["name"] for e in spans["inner"]["events"]], ["halfway"])
        self.assertEqual(spans["inner"]["events"][0]["attributes"], {"pct": 50})

    def test_an_exception_marks_the_span_and_its_error_frame_carries_it(self):
        frame = self.final("tr_raises", traceparent=TRACEPARENT)
        self.assertEqual(frame["kind"], "error")
        [span] = frame["spans"]
        self.assertEqual((span["name"], span["status"], span["message"]), ("doomed", "error", "ValueError: no good"))
        self.assertEqual(span["events"][0]["name"], "exception")
        self.assertEqual(span["events"][0]["attributes"], {"exception.type": "ValueError", "exception.message": "no good"})

    def test_caught_errors_and_set_status(self):
        frame = self.final("tr_caught", traceparent=TRACEPARENT)
        self.assertEqual([(s["name"], s["status"], s.get("message")) for s in frame["spans"]],
                         [("failing", "error", "KeyError: 'k'"), ("marked", "error", "by hand")])

    def test_a_streams_end_carries_its_spans(self):
        frame = self.final("tr_stream", stream=True, traceparent=TRACEPARENT)
        self.assertEqual(frame["kind"], "end")
        self.assertEqual([s["attributes"]["i"] for s in frame["spans"]], [0, 1])

    def test_concurrent_tasks_get_their_own_parents(self):
        frame = self.final("tr_async", traceparent=TRACEPARENT)
        spans = {s["name"]: s for s in frame["spans"]}
        parent = spans["parent"]["id"]
        self.assertEqual(spans["a"]["parent"], parent)
        self.assertEqual(spans["b"]["parent"], parent)
        self.assertEqual(spans["a.child"]["parent"], spans["a"]["id"])
        self.assertEqual(spans["b.child"]["parent"], spans["b"]["id"])

    def test_without_a_sampled_traceparent_nothing_is_recorded_or_sent(self):
        for extra in ({}, {"traceparent": UNSAMPLED}, {"traceparent": "garbage"}):
            frame = self.final("tr_enabled", **extra)
            self.assertIs(frame["value"], False)
            self.assertNotIn("spans", frame)
        frame = self.final("tr_enabled", traceparent=TRACEPARENT)
        self.assertIs(frame["value"], True)
        self.assertEqual(len(frame["spans"]), 1)

    def test_a_call_that_never_touches_ctx_trace_sends_no_spans(self):
        frame = self.final("tr_plain", traceparent=TRACEPARENT)
        self.assertEqual(frame, {"kind": "result", "id": self.next_id, "value": self.next_id})
        self.assertIsNone(self.active.get(self.next_id))
        frame = self.final("tr_stream", stream=True)  # ctx.trace used, but the call is not traced
        self.assertNotIn("spans", frame)


if __name__ == "__main__":
    unittest.main()
