"""Calls: arguments, results, errors, async, generators, streams, ctx, host calls, prints."""
import math
import os
import time
import unittest

from harness import WorkerTest


class CallTest(WorkerTest):
    @classmethod
    def setUpClass(cls):
        from harness import Worker
        cls.w = Worker()

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_kwargs_and_positional(self):
        self.assertEqual(self.w.call("add", {"a": 1, "b": 2}), {"kind": "result", "id": self.w.next_id, "value": 3})
        self.assertEqual(self.w.call("add", [1.5, -2])["value"], -0.5)
        self.assertEqual(self.w.call("noop")["value"], None)

    def test_echo_round_trip(self):
        value = {"s": "héllo ✓ 日本 🐍", "n": [1, -1, 2 ** 40, 3.25], "t": True, "f": False, "none": None,
                 "nested": {"a": [{"b": []}]}}
        self.assertEqual(self.w.call("echo", {"value": value})["value"], value)

    def test_bytes(self):
        # Both codecs carry bytes (JSON as a tagged base64 object).
        answer = self.w.call("binary", {"size": 300})
        self.assertEqual(answer["value"], bytes(range(300 % 256)))
        self.assertEqual(self.w.call("echo", {"value": b"\x00\x01\xfe"})["value"], b"\x00\x01\xfe")

    def test_large_payloads_both_ways(self):
        big = "y" * (3 * 1024 * 1024 + 17)
        self.assertEqual(self.w.call("echo", {"value": big})["value"], big)
        self.assertEqual(len(self.w.call("text", {"n": 200000})["value"]), 200000)

    def test_exception_becomes_error_and_the_worker_lives_on(self):
        pid = self.w.call("pid")["value"]
        err = self.w.call("boom", {"message": "kaput"})
        self.assertEqual((err["kind"], err["type"], err["message"]), ("error", "ValueError", "kaput"))
        self.assertTrue(err["traceback"].startswith("Traceback (most recent call last):"))
        self.assertIn("basic.py", err["traceback"])
        self.assertNotIn(os.sep + "pyvisor_worker" + os.sep, err["traceback"])  # only the user's frames
        self.assertEqual(self.w.call("pid")["value"], pid)
        self.assertEqual(self.w.call("add", [2, 2])["value"], 4)

    def test_custom_exception_type_is_qualified(self):
        self.assertEqual(self.w.call("custom_error")["type"], "py_extra.Boom")

    def test_bad_arguments_are_a_python_error(self):
        err = self.w.call("add", {"a": 1})
        self.assertEqual(err["type"], "TypeError")
        err = self.w.call("add", "nope")
        self.assertEqual(err["type"], "pyvisor.InvalidArguments")

    def test_unknown_handler(self):
        err = self.w.call("nope")
        self.assertEqual(err["type"], "pyvisor.UnknownHandler")
        self.assertIn("'nope'", err["message"])
        self.assertIn("add, ", err["message"])

    def test_unserializable(self):
        err = self.w.call("unserializable")
        self.assertEqual(err["type"], "pyvisor.Unserializable")
        self.assertIn("unserializable", err["message"])
        # NaN travels with both codecs (JSON as a tagged float).
        self.assertTrue(math.isnan(self.w.call("nan")["value"]))
        self.assertEqual(self.w.call("add", [1, 1])["value"], 2)

    def test_error_message_with_a_lone_surrogate_still_arrives(self):
        err = self.w.call("surrogate")
        self.assertEqual(err["type"], "ValueError")
        self.assertIn("bad", err["message"])

    def test_async_handler_and_persistent_loop(self):
        self.assertEqual(self.w.call("async_add", {"a": 2, "b": 5})["value"], 7)
        self.assertEqual(self.w.call("async_loop_id")["value"], self.w.call("async_loop_id")["value"])

    def test_generator_without_stream_is_one_list(self):
        self.assertEqual(self.w.call("count", {"n": 4}), {"kind": "result", "id": self.w.next_id, "value": [0, 1, 2, 3]})
        self.assertEqual(self.w.call("agen", {"n": 3})["value"], [0, 10, 20])

    def test_generator_with_stream(self):
        frames = self.w.answer(self.w.start_call("count", {"n": 3}, stream=True))
        call_id = self.w.next_id
        self.assertEqual(frames, [{"kind": "chunk", "id": call_id, "value": 0}, {"kind": "chunk", "id": call_id, "value": 1},
                                  {"kind": "chunk", "id": call_id, "value": 2}, {"kind": "end", "id": call_id}])
        frames = self.w.answer(self.w.start_call("agen", {"n": 2}, stream=True))
        self.assertEqual([f.get("value") for f in frames], [0, 10, None])
        self.assertEqual(self.w.answer(self.w.start_call("count", {"n": 0}, stream=True))[0]["kind"], "end")

    def test_stream_error_after_chunks(self):
        frames = self.w.answer(self.w.start_call("half_bad", stream=True))
        self.assertEqual([f["kind"] for f in frames], ["chunk", "error"])
        self.assertEqual(frames[1]["type"], "KeyError")
        frames = self.w.answer(self.w.start_call("unserializable", stream=True))
        self.assertEqual([(f["kind"], f.get("type")) for f in frames], [("error", "pyvisor.Unserializable")])
        frames = self.w.answer(self.w.start_call("bad_chunk", stream=True))
        self.assertEqual([f["kind"] for f in frames], ["chunk", "error"])
        self.assertEqual(frames[1]["type"], "pyvisor.Unserializable")

    def test_emit(self):
        frames = self.w.answer(self.w.start_call("emitter", {"n": 2}, stream=True))
        self.assertEqual([(f["kind"], f.get("value")) for f in frames], [("chunk", {"i": 0}), ("chunk", {"i": 1}), ("end", None)])
        # A plain handler's non-None return value under stream is a last chunk.
        frames = self.w.answer(self.w.start_call("emit_then_return", stream=True))
        self.assertEqual([f.get("value") for f in frames], [0, 1, "done", None])
        # A plain handler under stream with nothing to say: just end.
        self.assertEqual(self.w.answer(self.w.start_call("noop", stream=True)), [{"kind": "end", "id": self.w.next_id}])

    def test_emit_outside_a_stream_raises(self):
        err = self.w.call("emitter", {"n": 1})
        self.assertEqual(err["type"], "RuntimeError")
        self.assertIn("stream", err["message"])

    def test_emit_after_the_call_ended_raises(self):
        self.assertEqual(self.w.answer(self.w.start_call("keep_ctx", stream=True))[-1]["kind"], "end")
        self.assertIn("already been answered", self.w.call("emit_late")["value"])

    def test_non_string_name_is_an_unknown_handler(self):
        self.assertEqual(self.w.call(["add"])["type"], "pyvisor.UnknownHandler")
        self.assertEqual(self.w.call("noop")["kind"], "result")

    def test_ctx_fields(self):
        value = self.w.call("whoami", session="user-42", deadline=1790000000000)["value"]
        self.assertEqual(value, {"id": self.w.next_id, "session": "user-42", "cancelled": False})
        self.assertEqual(self.w.call("whoami")["value"]["session"], None)

    def test_ctx_log(self):
        call_id = self.w.start_call("log_it", {"level": "warning", "message": "careful"})
        self.assertEqual(self.w.recv(), {"kind": "log", "level": "warning", "message": "careful"})
        self.assertEqual(self.w.recv(), {"kind": "result", "id": call_id, "value": True})
        self.assertEqual(self.w.call("log_it", {"level": "loud"})["type"], "ValueError")

    def test_cancel_stops_wait_cancel(self):
        start = time.monotonic()
        call_id = self.w.start_call("wait_cancel", {"ms": 5000})
        time.sleep(0.05)
        self.w.send({"kind": "cancel", "id": call_id})
        # The sync handler is interrupted where it runs (cancel.py), before it polls ctx.cancelled.
        self.assertEqual(self.w.answer(call_id), [{"kind": "error", "id": call_id, "type": "pyvisor.Cancelled",
                                                   "message": f"call {call_id} was cancelled", "traceback": ""}])
        self.assertLess(time.monotonic() - start, 2)
        # A late or unknown cancel is harmless and does not leak into the next call with that id.
        self.w.send({"kind": "cancel", "id": call_id})
        self.w.send({"kind": "cancel", "id": 999999})
        self.assertEqual(self.w.call("whoami")["value"]["cancelled"], False)

    def test_cancel_stops_a_streamed_generator(self):
        call_id = self.w.start_call("ticker", {"ms": 5}, stream=True)
        for _ in range(3):
            self.assertEqual(self.w.recv()["kind"], "chunk")
        self.w.send({"kind": "cancel", "id": call_id})
        frames = self.w.answer(call_id)
        self.assertEqual(frames[-1], {"kind": "end", "id": call_id})
        self.assertEqual(self.w.call("noop")["value"], None)
        self.assertIn(b"ticker closed after", self.w.out())

    def test_cancel_a_non_stream_generator_returns_the_items_so_far(self):
        call_id = self.w.start_call("ticker", {"ms": 10})
        time.sleep(0.1)
        self.w.send({"kind": "cancel", "id": call_id})
        result = self.w.answer(call_id)[-1]
        self.assertEqual(result["kind"], "result")
        self.assertGreater(len(result["value"]), 0)
        self.assertEqual(result["value"], list(range(len(result["value"]))))

    def test_ping_is_answered_while_a_handler_runs(self):
        call_id = self.w.start_call("sleep_ms", {"ms": 400})
        time.sleep(0.05)
        sent = time.monotonic()
        self.w.send({"kind": "ping", "id": 5})
        self.assertEqual(self.w.recv(), {"kind": "pong", "id": 5})
        self.assertLess(time.monotonic() - sent, 0.2)
        self.assertEqual(self.w.answer(call_id)[-1]["value"], 400)

    def test_host_call_round_trip(self):
        call_id = self.w.start_call("ask_host", {"name": "store.get", "args": {"key": "k"}})
        hc = self.w.recv()
        self.assertEqual((hc["kind"], hc["name"], hc["args"]), ("host_call", "store.get", {"key": "k"}))
        # While the handler waits for the host, pings still work.
        self.w.send({"kind": "ping", "id": 6})
        self.assertEqual(self.w.recv(), {"kind": "pong", "id": 6})
        self.w.send({"kind": "host_result", "id": hc["id"], "value": {"version": 2, "value": "v"}})
        self.assertEqual(self.w.answer(call_id)[-1]["value"], {"ok": {"version": 2, "value": "v"}})

        call_id = self.w.start_call("ask_host", {"name": "store.get"})
        hc2 = self.w.recv()
        self.assertEqual(hc2["args"], {})
        self.assertNotEqual(hc2["id"], hc["id"])
        self.w.send({"kind": "host_error", "id": hc2["id"], "type": "KeyError", "message": "k"})
        self.assertEqual(self.w.answer(call_id)[-1]["value"], {"error": ["KeyError", "k"]})

    def test_host_call_timeout(self):
        call_id = self.w.start_call("ask_host", {"name": "slow", "timeout": 0.1})
        hc = self.w.recv()
        err = self.w.answer(call_id)[-1]
        self.assertEqual(err["type"], "pyvisor_worker.HostCallTimeout")
        # The late answer is ignored (logged), not delivered to anyone.
        self.w.send({"kind": "host_result", "id": hc["id"], "value": 1})
        self.assertEqual(self.w.recv()["kind"], "log")
        self.assertEqual(self.w.call("noop")["kind"], "result")

    def test_prints_never_corrupt_frames(self):
        self.assertEqual(self.w.call("chatty", {"n": 5})["value"], 5)
        self.assertEqual(self.w.call("print_frames", {"n": 100})["value"], 100)
        self.assertEqual(self.w.call("add", [1, 2])["value"], 3)
        self.assertIn(b"stdout line 4", self.w.out())
        self.assertIn("stderr line 4", self.w.err())

    def test_stdout_is_line_buffered(self):
        self.assertTrue(self.w.call("print_no_flush", {"text": "seen without flush"})["value"])
        self.assertIn(b"seen without flush\n", self.w.out())

    def test_unknown_kind_is_ignored_with_a_log(self):
        self.w.send({"kind": "gossip", "id": 1})
        self.assertEqual(self.w.recv()["level"], "warning")
        self.assertEqual(self.w.call("noop")["kind"], "result")

    def test_many_calls_pipelined(self):
        ids = [self.w.start_call("add", [i, 1]) for i in range(200)]
        for i, call_id in enumerate(ids):
            self.assertEqual(self.w.answer(call_id), [{"kind": "result", "id": call_id, "value": i + 1}])


class ExitTest(WorkerTest):
    def test_sys_exit_in_a_handler_fails_the_call_and_the_worker_lives_on(self):
        w = self.spawn()
        pid = w.call("pid")["value"]
        for name, args, said in (("exit_now", {"code": 7}, "sys.exit(7)"),
                                 ("exit_text", None, "sys.exit('leaving with a message')")):
            answer = w.call(name, args)
            self.assertEqual((answer["kind"], answer["type"]), ("error", "SystemExit"))
            self.assertIn(said, answer["message"])
            self.assertIn(name, answer["traceback"])
        self.assertEqual(w.call("pid")["value"], pid)


if __name__ == "__main__":
    unittest.main()
