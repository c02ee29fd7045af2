"""How a worker ends: host gone, SIGTERM, shutdown frames, protocol violations, SIGINT."""
import os
import signal
import struct
import time
import unittest

from harness import WorkerTest

PROMPT = 1.0  # seconds: "at once" for a process that only has to notice and _exit


class LifecycleTest(WorkerTest):
    def test_eof_on_fd3_exits_quickly(self):
        w = self.spawn()
        os.close(w.to_worker)
        self.assertLess(self.assertExits(w, 0), PROMPT)

    def test_eof_on_fd3_while_busy_exits_without_waiting_for_the_handler(self):
        w = self.spawn()
        w.start_call("sleep_ms", {"ms": 5000})
        time.sleep(0.05)
        os.close(w.to_worker)
        self.assertLess(self.assertExits(w, 0), PROMPT)

    def test_socketpair_transport(self):
        # libuv gives the child UNIX socketpairs, not pipes: same behaviour expected.
        w = self.spawn(transport="socketpair")
        self.assertEqual(w.call("add", [20, 22])["value"], 42)
        self.assertEqual(len(w.call("text", {"n": 300000})["value"]), 300000)
        os.close(w.to_worker)
        self.assertLess(self.assertExits(w, 0), PROMPT)

    def test_host_closing_fd4_ends_the_worker_on_its_next_write(self):
        w = self.spawn()
        os.close(w.from_worker)
        w.start_call("noop")
        self.assertExits(w, 0)

    def test_sigterm_idle_exits_0_at_once(self):
        w = self.spawn()
        self.assertEqual(w.call("noop")["kind"], "result")
        time.sleep(0.05)  # the main thread is now blocked waiting on its queue
        w.proc.send_signal(signal.SIGTERM)
        self.assertLess(self.assertExits(w, 0), PROMPT)

    def test_sigterm_before_any_call_exits_0(self):
        w = self.spawn()
        w.proc.send_signal(signal.SIGTERM)
        self.assertLess(self.assertExits(w, 0), PROMPT)

    def test_sigterm_while_busy_finishes_the_call_then_exits_0(self):
        w = self.spawn()
        call_id = w.start_call("sleep_ms", {"ms": 300})
        queued = w.start_call("add", [1, 2])
        time.sleep(0.05)
        w.proc.send_signal(signal.SIGTERM)
        self.assertEqual(w.answer(call_id), [{"kind": "result", "id": call_id, "value": 300}])
        err = w.answer(queued)[-1]
        self.assertEqual((err["kind"], err["type"]), ("error", "pyvisor.ShuttingDown"))
        self.assertExits(w, 0)

    def test_sigterm_keeps_buffered_prints(self):
        w = self.spawn()
        w.call("chatty", {"n": 2})
        w.proc.send_signal(signal.SIGTERM)
        self.assertExits(w, 0)
        self.assertIn(b"stdout line 1", w.out())

    def test_sigint_is_ignored(self):
        w = self.spawn()
        call_id = w.start_call("sleep_ms", {"ms": 100})
        time.sleep(0.03)
        w.proc.send_signal(signal.SIGINT)
        self.assertEqual(w.answer(call_id)[-1]["value"], 100)
        w.proc.send_signal(signal.SIGINT)
        self.assertEqual(w.call("noop")["kind"], "result")

    def test_shutdown_frame_idle(self):
        w = self.spawn()
        w.send({"kind": "shutdown", "graceMs": 1000})
        self.assertLess(self.assertExits(w, 0), PROMPT)

    def test_shutdown_frame_while_busy(self):
        w = self.spawn()
        call_id = w.start_call("sleep_ms", {"ms": 200})
        w.send({"kind": "shutdown", "graceMs": 1000})
        late = w.start_call("noop")
        self.assertEqual(w.answer(call_id)[-1]["value"], 200)
        self.assertEqual(w.answer(late)[-1]["type"], "pyvisor.ShuttingDown")
        self.assertExits(w, 0)

    def test_shutdown_frame_finishes_calls_sent_before_it(self):
        w = self.spawn()
        first = w.start_call("sleep_ms", {"ms": 50})
        second = w.start_call("add", [1, 2])
        w.send({"kind": "shutdown", "graceMs": 1000})
        self.assertEqual(w.answer(first)[-1]["value"], 50)
        self.assertEqual(w.answer(second)[-1]["value"], 3)
        self.assertExits(w, 0)

    def violation(self, data, expect_log=True):
        w = self.spawn()
        w.send_raw(data)
        self.assertExits(w, 3)
        if expect_log:
            log = w.recv()
            self.assertEqual((log["kind"], log["level"]), ("log", "error"))
            return log["message"]
        return None

    def test_oversized_frame_exits_3(self):
        w = self.spawn(args=["--max-frame-bytes", "1000"])
        w.send_raw(struct.pack(">I", 1001))  # nothing beyond the header is needed to decide
        self.assertExits(w, 3)
        self.assertIn("exceeds max-frame-bytes", w.recv()["message"])
        # Exactly at the limit is fine.
        w = self.spawn(args=["--max-frame-bytes", "1000"])
        fill = 1000
        for _ in range(5):  # the string header grows with the string (msgpack str8 -> str16)
            payload = w.codec.encode({"kind": "call", "id": 1, "name": "echo", "args": {"value": "z" * fill}})
            fill -= len(payload) - 1000
        self.assertEqual(len(payload), 1000)
        w.send_raw(struct.pack(">I", 1000) + payload)
        self.assertEqual(w.answer(1)[-1]["kind"], "result")

    def test_a_result_over_the_limit_is_refused_by_the_worker_itself_which_serves_on(self):
        w = self.spawn(args=["--max-frame-bytes", "1000"])
        answer = w.call("binary", {"size": 2000})
        self.assertEqual((answer["kind"], answer["type"]), ("error", "pyvisor.FrameTooLarge"))
        self.assertIn("over the host's max-frame-bytes (1000)", answer["message"])
        self.assertEqual(w.call("echo", {"value": 7})["value"], 7)

    def test_default_limit_is_64_mib(self):
        self.assertIn("exceeds", self.violation(struct.pack(">I", 64 * 1024 * 1024 + 1)))

    def test_garbage_payload_exits_3(self):
        self.assertIn("undecodable", self.violation(struct.pack(">I", 4) + b"\xc1\xff{["))

    def test_non_map_message_exits_3(self):
        w = self.spawn()
        w.send([1, 2, 3])
        self.assertExits(w, 3)

    def test_call_without_an_integer_id_exits_3(self):
        w = self.spawn()
        w.send({"kind": "call", "id": "one", "name": "noop"})
        self.assertExits(w, 3)

    def test_empty_frame_exits_3(self):
        self.violation(struct.pack(">I", 0))


if __name__ == "__main__":
    unittest.main()
