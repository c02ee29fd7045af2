"""Running handlers and answering them (pyvisor_worker/invoke.py), in process on this thread."""
import os
import unittest

from harness import InvokerTest

from pyvisor_worker import Context, handler

PREFIX = "inv_"
closed = []  # names of generators whose finally ran


def _register():
    @handler("inv_add")
    def add(a, b=10):
        return a + b

    @handler("inv_whoami")
    def whoami(ctx):
        return [ctx.id, ctx.session]

    @handler("inv_boom")
    def boom(message):
        raise ValueError(message)

    @handler("inv_host_timeout")
    def host_timeout(ctx):
        return ctx.call_host("nobody", timeout=0)  # raises from inside the runtime (host_calls.py)

    @handler("inv_async")
    async def async_add(a, b):
        return a + b

    @handler("inv_loop")
    async def loop_id():
        import asyncio  # noqa: PLC0415

        return id(asyncio.get_running_loop())

    @handler("inv_count")
    def count(n):
        try:
            yield from range(n)
        finally:
            closed.append("inv_count")

    @handler("inv_agen")
    async def agen(n):
        for i in range(n):
            yield i * 10

    @handler("inv_returns")
    def returns(value=None):
        return value

    @handler("inv_bad_item")
    def bad_item():
        yield 1
        yield object()

    @handler("inv_object")
    def an_object():
        return object()

    @handler("inv_surrogate")
    def surrogate():
        raise ValueError("bad \udc80 text")

    @handler("inv_self_cancel")
    def self_cancel(ctx, after):
        try:
            for i in range(100):
                if i == after:
                    ctx._cancel()  # as the reader would, on a `cancel` frame
                yield i
        finally:
            closed.append("inv_self_cancel")

    @handler("inv_cancelled_from_a_thread")
    async def cancelled_from_a_thread(ctx):
        import asyncio  # noqa: PLC0415
        import threading  # noqa: PLC0415

        # The reader thread dispatches a `cancel` while this coroutine waits.
        threading.Thread(target=ctx._cancel).start()
        try:
            await asyncio.get_running_loop().create_future()  # nobody sets it
        finally:
            closed.append("inv_cancelled_from_a_thread")

    @handler("inv_emit_until_cancelled")
    def emit_until_cancelled(ctx):
        sent = [ctx.emit(0)]
        ctx._cancel()
        sent.append(ctx.emit(1))  # the window is used up, but cancelled: no wait, False
        return None if sent == [True, False] else sent


class InvokeTest(InvokerTest):
    prefix = PREFIX
    register = staticmethod(_register)

    def setUp(self):
        super().setUp()
        del closed[:]

    def run_call(self, name, args=None, **extra):
        """All frames answering one call, which must leave `active` before its final frame."""
        ctx = self.context(name, args, **extra)
        start = len(self.writer.sent)

        def check(frame):
            if frame["kind"] in ("result", "end", "error"):
                self.assertNotIn(ctx.id, self.active, "the id must be free before the host has the answer")
            elif frame["kind"] == "chunk":
                self.assertIs(self.active.get(ctx.id), ctx)

        self.writer.on_send = check
        self.invoker.run(ctx)
        frames = self.writer.sent[start:]
        self.assertNotIn(ctx.id, self.active)
        for frame in frames:
            self.assertEqual(frame.get("id"), ctx.id)
        return frames

    def result(self, name, args=None, **extra):
        frames = self.run_call(name, args, **extra)
        self.assertEqual([f["kind"] for f in frames], ["result"], frames)
        return frames[0]["value"]

    def test_argument_forms(self):
        self.assertEqual(self.result("inv_add", {"a": 1, "b": 2}), 3)
        self.assertEqual(self.result("inv_add", [1]), 11)
        self.assertEqual(self.result("inv_whoami", session="s"), [self.next_id, "s"])
        self.assertEqual(self.result("inv_returns"), None)

    def test_what_is_not_a_handler_call_is_an_error_frame(self):
        for name, args, type_ in (("inv_add", "nope", "pyvisor.InvalidArguments"),
                                  ("inv_add", {"c": 1}, "TypeError"),
                                  ("inv_missing", None, "pyvisor.UnknownHandler"),
                                  (["inv_add"], None, "pyvisor.UnknownHandler")):
            with self.subTest(name=name, args=args):
                (frame,) = self.run_call(name, args)
                self.assertEqual((frame["kind"], frame["type"]), ("error", type_))
        self.assertIn("inv_add, ", self.run_call("inv_missing")[0]["message"])

    def test_an_exception_carries_the_users_traceback_only(self):
        (frame,) = self.run_call("inv_boom", {"message": "kaput"})
        self.assertEqual((frame["type"], frame["message"]), ("ValueError", "kaput"))
        self.assertIn("test_invoke.py", frame["traceback"])
        self.assertNotIn(os.sep + "pyvisor_worker" + os.sep, frame["traceback"])

    def test_the_runtimes_frames_are_left_out_wherever_they_are_and_kept_in_full_traceback(self):
        frame = self.run_call("inv_host_timeout")[-1]  # after the host_call frame it sent
        self.assertEqual(frame["type"], "pyvisor_worker.HostCallTimeout")
        self.assertIn("in host_timeout", frame["traceback"])
        self.assertNotIn(os.sep + "pyvisor_worker" + os.sep, frame["traceback"])
        self.assertIn("in host_timeout", frame["fullTraceback"])
        self.assertIn(os.sep + "pyvisor_worker" + os.sep + "host_calls.py", frame["fullTraceback"])
        # Nothing left out: no second copy on the wire.
        self.assertNotIn("fullTraceback", self.run_call("inv_boom", {"message": "x"})[0])

    def test_coroutines_run_on_one_persistent_loop(self):
        self.assertEqual(self.result("inv_async", [2, 5]), 7)
        self.assertEqual(self.result("inv_loop"), self.result("inv_loop"))

    def test_generators_give_one_list_or_a_stream(self):
        self.assertEqual(self.result("inv_count", [3]), [0, 1, 2])
        self.assertEqual(self.result("inv_agen", [2]), [0, 10])
        for name, values in (("inv_count", [0, 1, 2]), ("inv_agen", [0, 10, 20])):
            with self.subTest(name=name):
                frames = self.run_call(name, [3], stream=True)
                self.assertEqual([(f["kind"], f.get("value")) for f in frames],
                                 [("chunk", v) for v in values] + [("end", None)])

    def test_a_plain_handler_under_stream_ends_with_its_value_as_last_chunk(self):
        frames = self.run_call("inv_returns", {"value": "done"}, stream=True)
        self.assertEqual([(f["kind"], f.get("value")) for f in frames], [("chunk", "done"), ("end", None)])
        self.assertEqual([f["kind"] for f in self.run_call("inv_returns", stream=True)], ["end"])

    def test_what_the_codec_cannot_carry_is_an_unserializable_error(self):
        (frame,) = self.run_call("inv_object")
        self.assertEqual(frame["type"], "pyvisor.Unserializable")
        self.assertIn("cannot send the result of 'inv_object'", frame["message"])
        frames = self.run_call("inv_bad_item", stream=True)
        self.assertEqual([(f["kind"], f.get("type")) for f in frames],
                         [("chunk", None), ("error", "pyvisor.Unserializable")])
        self.assertIn("stream item of 'inv_bad_item'", frames[1]["message"])
        (frame,) = self.run_call("inv_object", stream=True)
        self.assertEqual(frame["type"], "pyvisor.Unserializable")

    def test_an_unencodable_error_message_is_escaped_not_lost(self):
        (frame,) = self.run_call("inv_surrogate")
        self.assertEqual(frame["type"], "ValueError")
        self.assertIn("bad \\udc80 text", frame["message"])

    def test_cancel_stops_a_generator_between_items_and_closes_it(self):
        self.assertEqual(self.result("inv_self_cancel", {"after": 2}), [0, 1, 2])
        # Streaming, the item produced after the cancel is not sent.
        frames = self.run_call("inv_self_cancel", {"after": 1}, stream=True)
        self.assertEqual([(f["kind"], f.get("value")) for f in frames], [("chunk", 0), ("end", None)])
        self.assertEqual(closed, ["inv_self_cancel", "inv_self_cancel"])

    def test_cancel_from_another_thread_cancels_a_coroutine_at_its_await(self):
        for stream in (False, True):
            with self.subTest(stream=stream):
                (frame,) = self.run_call("inv_cancelled_from_a_thread", stream=stream)
                if stream:
                    self.assertEqual(frame, {"kind": "end", "id": self.next_id})
                else:
                    self.assertEqual((frame["kind"], frame["type"]), ("error", "pyvisor.Cancelled"))
        self.assertEqual(closed, ["inv_cancelled_from_a_thread"] * 2)

    def test_a_generator_is_closed_when_it_ends(self):
        self.result("inv_count", [2])
        self.assertEqual(closed, ["inv_count"])

    def test_a_window_limits_chunks_and_cancel_releases_the_producer(self):
        frames = self.run_call("inv_count", [2], stream=True, window=2)
        self.assertEqual([f["kind"] for f in frames], ["chunk", "chunk", "end"])
        frames = self.run_call("inv_emit_until_cancelled", stream=True, window=1)
        self.assertEqual([(f["kind"], f.get("value")) for f in frames], [("chunk", 0), ("end", None)])

    def test_fail_answers_and_frees_the_id(self):
        ctx = Context(self.link, {"kind": "call", "id": 9, "name": "inv_add"})
        self.active[9] = ctx
        self.invoker.fail(ctx, "pyvisor.ShuttingDown", "the worker is shutting down", "")
        self.assertEqual(self.writer.sent, [{"kind": "error", "id": 9, "type": "pyvisor.ShuttingDown",
                                             "message": "the worker is shutting down", "traceback": ""}])
        self.assertEqual(self.active, {})


if __name__ == "__main__":
    unittest.main()
