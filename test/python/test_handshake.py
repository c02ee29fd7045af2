"""Start-up: hello/welcome/ready in both codecs, import failures, parent binding, fd hygiene."""
import os
import platform
import struct
import subprocess
import sys
import unittest

from harness import FIXTURES, OFFERED, PYTHON_DIR, WorkerTest

BASIC = ["add", "async_add", "binary", "boom", "chatty", "count", "echo", "exit_now", "hard_exit", "noop", "pid",
         "sleep_ms", "unserializable", "wait_cancel", "whoami"]


class HandshakeTest(WorkerTest):
    def test_hello_is_json_and_describes_the_interpreter(self):
        w = self.spawn(imports=["basic"], handshake=False)
        hello = w.recv()
        self.assertEqual(hello, {"kind": "hello", "protocol": 1, "pid": w.pid,
                                 "python": platform.python_version(), "codecs": OFFERED})
        w.send({"kind": "welcome", "codec": OFFERED[0]})

    def test_hello_arrives_before_the_user_module_is_imported(self):
        # The module fails to import, yet hello came first and ready reports the failure.
        w = self.spawn(imports=["py_broken"], handshake=False)
        self.assertEqual(w.recv()["kind"], "hello")

    def test_json_codec(self):
        w = self.spawn(imports=["basic"], codec="json")
        self.assertEqual(w.ready, {"kind": "ready", "status": "ok", "handlers": BASIC})
        self.assertEqual(w.call("add", {"a": 2, "b": 3})["value"], 5)

    def test_negotiated_codec_is_the_one_run_sh_expects(self):
        # Outside run.sh: the worker picks the first codec this interpreter offers.
        expected = os.environ.get("PYVISOR_TEST_EXPECT_CODEC") or OFFERED[0]
        self.assertEqual(self.spawn().codec.name, expected)

    def test_pyvisor_codecs_restricts_the_offer(self):
        w = self.spawn(imports=["basic"], env={"PYVISOR_CODECS": "json"})
        self.assertEqual(w.hello["codecs"], ["json"])

    def test_import_by_path(self):
        w = self.spawn(imports=[os.path.join(FIXTURES, "basic.py")])
        self.assertEqual(w.ready["handlers"], BASIC)
        self.assertEqual(w.call("add", [1, 2])["value"], 3)

    def test_ready_error_when_the_module_fails_to_import(self):
        w = self.spawn(imports=["py_broken"])
        self.assertEqual(w.ready["status"], "error")
        self.assertEqual(w.ready["type"], "RuntimeError")
        self.assertEqual(w.ready["message"], "broken on purpose")
        self.assertIn("py_broken.py", w.ready["traceback"])
        self.assertExits(w, 1)

    def test_ready_error_for_a_missing_module_and_a_missing_preload(self):
        for args in (dict(imports=["no_such_module"]), dict(imports=["basic"], args=["--preload", "no_such_lib"])):
            w = self.spawn(**args)
            self.assertEqual((w.ready["status"], w.ready["type"]), ("error", "ModuleNotFoundError"))
            self.assertExits(w, 1)

    def test_duplicate_handler_names_fail_the_import(self):
        w = self.spawn(imports=["py_dup"])
        self.assertEqual((w.ready["status"], w.ready["type"]), ("error", "ValueError"))
        self.assertIn("duplicate handler name 'same'", w.ready["message"])

    def test_preload(self):
        w = self.spawn(imports=["basic"], args=["--preload", "json", "--preload", "decimal"])
        self.assertEqual(w.ready["status"], "ok")

    def test_wrong_first_frame_from_host_is_a_protocol_violation(self):
        w = self.spawn(handshake=False)
        w.recv()
        w.send({"kind": "ping", "id": 1})
        self.assertExits(w, 3)

    def test_unknown_codec_in_welcome_is_a_protocol_violation(self):
        w = self.spawn(handshake=False)
        w.recv()
        w.send({"kind": "welcome", "codec": "cbor"})
        self.assertExits(w, 3)

    def test_eof_before_welcome_exits_0(self):
        w = self.spawn(handshake=False)
        w.recv()
        os.close(w.to_worker)
        self.assertExits(w, 0)

    def test_ping_during_a_slow_import_is_answered(self):
        w = self.spawn(imports=["py_slow_import"], handshake=False)
        w.recv()
        w.send({"kind": "welcome", "codec": OFFERED[0]})
        from harness import CODECS
        w.codec = CODECS[OFFERED[0]]
        w.send({"kind": "ping", "id": 77})
        self.assertEqual(w.recv(), {"kind": "pong", "id": 77})
        self.assertEqual(w.recv()["kind"], "ready")

    # The suite targets Linux (PR_SET_PDEATHSIG), like the TypeScript tests (/proc).
    def test_parent_already_dead_exits_at_once(self):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        w = self.spawn(handshake=False, env={"PYVISOR_PARENT_PID": str(dead.pid)})
        self.assertExits(w, 0)
        with self.assertRaises(EOFError):
            w.recv()

    def test_a_live_non_parent_pid_is_a_wrapper_not_a_dead_host(self):
        w = self.spawn(env={"PYVISOR_PARENT_PID": "1"})
        self.assertEqual(w.ready["status"], "ok")

    def test_without_fds_3_and_4_it_explains_and_exits_2(self):
        proc = subprocess.run([sys.executable, "-m", "pyvisor_worker", "--import", "basic"], cwd=FIXTURES,
                              env={**os.environ, "PYTHONPATH": PYTHON_DIR}, capture_output=True, timeout=10,
                              close_fds=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"fds 3 and 4", proc.stderr)

    def test_header_is_big_endian(self):
        w = self.spawn(handshake=False)
        w._fill(4, __import__("time").monotonic() + 5)
        (n,) = struct.unpack(">I", w.buf[:4])
        self.assertLess(n, 200)


if __name__ == "__main__":
    unittest.main()
