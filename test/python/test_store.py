"""ctx.store and ctx.programs against a test host that serves pyvisor.store.* from a dict.

The host counts get replies that carried a value vs `unchanged`, which is how these tests see
the worker's version cache at work. Each test spawns fresh workers: a worker's cache outlives
calls, and each test's FakeStore starts its versions from 1 again.
"""
import os
import sys
import unittest

from harness import ROOT, FakeStore, WorkerTest

EXAMPLE = os.path.join(ROOT, "examples", "programs")
STORE_WORKER = ("store_worker",)


class StoreCacheTest(WorkerTest):
    def setUp(self):
        self.host = FakeStore()
        self.w = self.spawn(STORE_WORKER)

    def get(self, key, worker=None, **extra):
        return self.host.value_of(worker or self.w, "store_get", {"key": key}, **extra)

    def last_get_args(self):
        return [args for _, name, args in self.host.requests if name == "pyvisor.store.get"][-1]

    def test_unchanged_values_are_not_transferred_again(self):
        self.host.set("k", {"a": [1, 2], "s": "x"})
        self.assertEqual(self.get("k"), {"a": [1, 2], "s": "x"})
        self.assertEqual(self.last_get_args(), {"key": "k"})
        for _ in range(3):
            self.assertEqual(self.get("k"), {"a": [1, 2], "s": "x"})
        self.assertEqual(self.last_get_args(), {"key": "k", "version": 1})
        self.assertEqual((self.host.counts["get_full"], self.host.counts["get_unchanged"]), (1, 3))

    def test_a_changed_version_is_fetched_again(self):
        self.host.set("k", "old")
        self.assertEqual(self.get("k"), "old")
        self.host.set("k", "new")  # as another worker would
        self.assertEqual(self.get("k"), "new")
        self.assertEqual(self.get("k"), "new")
        self.assertEqual((self.host.counts["get_full"], self.host.counts["get_unchanged"]), (2, 1))

    def test_put_fills_the_cache(self):
        version = self.host.value_of(self.w, "store_put", {"key": "k", "value": {"n": [1, 2, 3]}})
        self.assertEqual(version, self.host.data[(None, "k")][0])
        self.assertEqual(self.get("k"), {"n": [1, 2, 3]})
        self.assertEqual(self.last_get_args(), {"key": "k", "version": version})
        self.assertEqual((self.host.counts["get_full"], self.host.counts["get_unchanged"]), (0, 1))

    def test_delete_evicts(self):
        self.host.value_of(self.w, "store_put", {"key": "k", "value": [1]})
        self.assertIs(self.host.value_of(self.w, "store_delete", {"key": "k"}), True)
        self.assertIs(self.host.value_of(self.w, "store_delete", {"key": "k"}), False)
        self.assertIsNone(self.get("k"))
        self.assertEqual(self.last_get_args(), {"key": "k"})
        self.host.set("k", [2])
        self.assertEqual(self.get("k"), [2])
        self.assertEqual(self.host.counts["get_full"], 1)

    def test_missing_key_evicts_and_gives_the_default(self):
        self.host.set("k", [1])
        self.get("k")
        del self.host.data[(None, "k")]  # deleted by another worker
        self.assertEqual(self.host.value_of(self.w, "store_get", {"key": "k", "default": "d"}), "d")
        self.host.set("k", [3])
        self.assertEqual(self.get("k"), [3])
        self.assertEqual(self.last_get_args(), {"key": "k"})

    def test_values_from_the_cache_cannot_be_mutated_by_a_handler(self):
        for key, value in (("d", {"a": 1}), ("l", [1, 2])):
            self.host.set(key, value)
            self.assertEqual(self.host.value_of(self.w, "mutate_then_get", {"key": key}), value)
            self.assertEqual(self.host.value_of(self.w, "mutate_then_get", {"key": key}), value)
        self.assertEqual(self.host.counts["get_full"], 2)

    def test_sessions_have_their_own_cache_entries(self):
        self.host.set("k", "a's", session="a")
        self.host.set("k", "b's", session="b")
        self.assertEqual(self.get("k", session="a"), "a's")
        self.assertEqual(self.get("k", session="b"), "b's")
        self.assertEqual(self.last_get_args(), {"key": "k"})  # a's version is not b's
        self.assertIsNone(self.get("k"))  # global scope
        self.assertEqual(self.get("k", session="a"), "a's")
        self.assertEqual((self.host.counts["get_full"], self.host.counts["get_unchanged"]), (2, 1))

    def test_keys(self):
        for key in ("b", "a", "p:2", "p:1"):
            self.host.set(key, 0)
        self.host.set("other", 0, session="s")
        self.assertEqual(self.host.value_of(self.w, "store_keys"), ["a", "b", "p:1", "p:2"])
        self.assertEqual(self.host.value_of(self.w, "store_keys", {"prefix": "p:"}), ["p:1", "p:2"])
        self.assertEqual(self.host.value_of(self.w, "store_keys", session="s"), ["other"])

    def test_host_errors_surface_as_host_call_error(self):
        self.host.value_of(self.w, "store_put", {"key": "k", "value": [1]})
        self.host.fail_next["pyvisor.store.put"] = ("pyvisor.ValueTooLargeError", "value of k is too large")
        answer = self.host.value_of(self.w, "store_try", {"op": "put", "key": "k", "value": [2]})
        self.assertEqual(answer, {"error": {"type": "pyvisor.ValueTooLargeError", "message": "value of k is too large"}})
        # A failed put forgets the cached version: the next get asks in full.
        self.assertEqual(self.get("k"), [1])
        self.assertEqual(self.host.requests[-1][2], {"key": "k"})
        for name, op, wire in (("pyvisor.store.get", "get", "pyvisor.SessionExpiredError"),
                               ("pyvisor.store.delete", "delete", "pyvisor.InvalidKeyError"),
                               ("pyvisor.store.list", "keys", "pyvisor.SerializationError")):
            self.host.fail_next[name] = (wire, "nope")
            answer = self.host.value_of(self.w, "store_try", {"op": op, "key": "k"}, session="s1")
            self.assertEqual(answer["error"]["type"], wire)
        # Uncaught, it is the handler's error: the host type is in the message.
        self.host.fail_next["pyvisor.store.get"] = ("pyvisor.SessionExpiredError", "session s1 expired")
        err = self.host.call(self.w, "store_get", {"key": "k"}, session="s1")
        self.assertEqual(err["type"], "pyvisor_worker.HostCallError")
        self.assertIn("pyvisor.SessionExpiredError: session s1 expired", err["message"])

    def test_local_errors_reach_no_host(self):
        self.assertEqual(self.host.call(self.w, "store_get", {"key": 5})["type"], "TypeError")
        err = self.host.call(self.w, "store_put_unserializable", {"key": "k"})
        self.assertEqual(err["type"], "pyvisor.Unserializable")
        self.assertEqual(self.host.requests, [])


class ProgramTest(WorkerTest):
    def setUp(self):
        self.host = FakeStore()
        self.a = self.spawn(STORE_WORKER)
        self.b = self.spawn(STORE_WORKER)

    def run_on(self, worker, program_id, value, **extra):
        return self.host.value_of(worker, "run_program", {"program_id": program_id, "input": value}, **extra)

    def builds(self, worker):
        return self.host.value_of(worker, "program_builds")

    def test_create_stores_the_spec_and_every_worker_builds_once(self):
        pid = self.host.value_of(self.a, "create_program", {"kind": "echo", "spec": {"greeting": "hi"}})
        self.assertRegex(pid, r"^prog_[0-9a-f]{32}$")
        self.assertEqual(self.host.value(f"program:{pid}"), {"kind": "echo", "spec": {"greeting": "hi"}})
        self.assertEqual(self.builds(self.a), 1)  # create builds (and validates) on the spot
        for worker in (self.a, self.b, self.a, self.b, self.b):
            got = self.run_on(worker, pid, 7)
            self.assertEqual(got["output"], {"spec": {"greeting": "hi"}, "input": 7})
            self.assertEqual(got["pid"], worker.pid)
        self.assertEqual((self.builds(self.a), self.builds(self.b)), (1, 1))
        # Only b's first run transferred the spec; every other run was answered `unchanged`.
        self.assertEqual((self.host.counts["get_full"], self.host.counts["get_unchanged"]), (1, 4))

    def test_a_replaced_spec_is_rebuilt(self):
        pid = self.host.value_of(self.a, "create_program", {"kind": "echo", "spec": 1})
        self.run_on(self.a, pid, None)
        self.host.set(f"program:{pid}", {"kind": "echo", "spec": 2})
        self.assertEqual(self.run_on(self.a, pid, None)["output"]["spec"], 2)
        self.assertEqual(self.run_on(self.a, pid, None)["output"]["spec"], 2)
        self.assertEqual(self.builds(self.a), 2)

    def test_unknown_kind_is_refused_before_anything_is_stored(self):
        err = self.host.call(self.a, "create_program", {"kind": "nope", "spec": {}})
        self.assertEqual(err["type"], "pyvisor_worker.UnknownProgramKind")
        self.assertIn("'nope'", err["message"])
        self.assertIn("echo, predict", err["message"])
        self.assertEqual(self.host.requests, [])
        # A spec its factory rejects is refused the same way.
        err = self.host.call(self.a, "create_program", {"kind": "predict", "spec": {"signature": "no arrow"}})
        self.assertEqual(err["type"], "ValueError")
        self.assertEqual(self.host.requests, [])

    def test_missing_and_deleted_programs(self):
        err = self.host.call(self.a, "run_program", {"program_id": "prog_missing"})
        self.assertEqual(err["type"], "pyvisor_worker.ProgramNotFound")
        self.assertIn("'prog_missing'", err["message"])
        pid = self.host.value_of(self.a, "create_program", {"kind": "echo"}, session="s1")
        self.run_on(self.b, pid, 1, session="s1")
        # Another session cannot see it, even on a worker that built it.
        err = self.host.call(self.b, "run_program", {"program_id": pid}, session="s2")
        self.assertEqual(err["type"], "pyvisor_worker.ProgramNotFound")
        self.assertIn("session 's2'", err["message"])
        self.assertIs(self.host.value_of(self.a, "delete_program", {"program_id": pid}, session="s1"), True)
        for worker in (self.a, self.b):  # b still holds the object it built: the host says it is gone
            err = self.host.call(worker, "run_program", {"program_id": pid}, session="s1")
            self.assertEqual(err["type"], "pyvisor_worker.ProgramNotFound")

    def test_predict_program_from_the_fixture(self):
        spec = {"signature": "question -> answer",
                "demos": [{"question": "capital of France?", "answer": "Paris"},
                          {"question": "capital of Japan?", "answer": "Tokyo"}]}
        pid = self.host.value_of(self.a, "create_program", {"kind": "predict", "spec": spec})
        got = self.run_on(self.b, pid, {"question": "What is the capital city of Japan?"})
        self.assertEqual(got["output"], {"answer": "Tokyo"})


class ProgramTimeoutTest(WorkerTest):
    """Default timeouts of programs: stored with the spec, or the kind's; asked of the host by `get`."""

    def setUp(self):
        self.host = FakeStore()
        self.a = self.spawn(STORE_WORKER)
        self.b = self.spawn(STORE_WORKER)

    def deadline_after(self, worker, *program_ids, **extra):
        return self.host.value_of(worker, "program_deadline", {"program_ids": list(program_ids)}, **extra)

    def deadline_requests(self):
        return [args for _, name, args in self.host.requests if name == "pyvisor.deadline"]

    def test_a_timeout_given_at_creation_is_stored_and_applies_on_any_worker(self):
        pid = self.host.value_of(self.a, "create_program", {"kind": "echo", "spec": 1, "timeout_ms": 20_000})
        self.assertEqual(self.host.value(f"program:{pid}"), {"kind": "echo", "spec": 1, "timeout_ms": 20_000})
        self.assertEqual(self.deadline_requests(), [])  # creating a program does not start its clock
        for worker in (self.b, self.a, self.b):  # b builds it from the store; a and b again from their caches
            seen = self.deadline_after(worker, pid)
            self.assertIsNone(seen["before"])
            self.assertGreater(seen["left"], 15)
            self.assertLessEqual(seen["left"], 20)
        self.assertEqual(self.deadline_requests(), [{"ms": 20_000}] * 3)

    def test_the_kinds_default_applies_unless_the_program_has_its_own(self):
        kind_default = self.host.value_of(self.a, "create_program", {"kind": "bounded"})
        own = self.host.value_of(self.a, "create_program", {"kind": "bounded", "timeout_ms": 5_000})
        none = self.host.value_of(self.a, "create_program", {"kind": "echo"})
        self.assertNotIn("timeout_ms", self.host.value(f"program:{kind_default}"))  # the kind's is not copied
        self.assertGreater(self.deadline_after(self.b, kind_default)["left"], 25)
        self.assertLessEqual(self.deadline_after(self.b, own)["left"], 5)
        self.assertIsNone(self.deadline_after(self.b, none)["left"])
        self.assertEqual(self.deadline_requests(), [{"ms": 30_000}, {"ms": 5_000}])

    def test_a_call_with_a_deadline_keeps_it_and_asks_nothing(self):
        pid = self.host.value_of(self.a, "create_program", {"kind": "echo", "timeout_ms": 1_000})
        for budget in (60_000, 500):  # longer or shorter than the program's: the caller's word wins
            seen = self.deadline_after(self.b, pid, deadline=budget)
            self.assertLessEqual(seen["left"], budget / 1000)
            self.assertGreater(seen["left"], budget / 1000 - 1)
        self.assertEqual(self.deadline_requests(), [])

    def test_of_several_programs_the_earliest_end_wins(self):
        long = self.host.value_of(self.a, "create_program", {"kind": "echo", "timeout_ms": 60_000})
        short = self.host.value_of(self.a, "create_program", {"kind": "echo", "timeout_ms": 10_000})
        self.assertLessEqual(self.deadline_after(self.b, long, short)["left"], 10)
        self.assertLessEqual(self.deadline_after(self.b, short, long)["left"], 10)
        # long, short: both asked; short, long: long would end later, so it is not asked for.
        self.assertEqual(self.deadline_requests(), [{"ms": 60_000}, {"ms": 10_000}, {"ms": 10_000}])

    def test_a_stored_timeout_that_is_not_valid_is_ignored(self):
        pid = self.host.value_of(self.a, "create_program", {"kind": "bounded"})
        self.host.set(f"program:{pid}", {"kind": "bounded", "spec": None, "timeout_ms": "soon"})
        self.assertGreater(self.deadline_after(self.b, pid)["left"], 25)  # the kind's default
        self.assertEqual(self.deadline_requests(), [{"ms": 30_000}])

    def test_bad_timeouts_are_refused_before_anything_is_stored(self):
        for bad in (0, -1, 1.5, "1000", True, 2**31):
            err = self.host.call(self.a, "create_program", {"kind": "echo", "timeout_ms": bad})
            self.assertEqual(err["type"], "ValueError")
            self.assertIn("timeout_ms must be an int from 1 to 2147483647", err["message"])
            self.assertIn(f"got {bad!r}", err["message"])
        self.assertEqual(self.host.requests, [])


class ExampleWorkerTest(WorkerTest):
    def test_qa_workers_from_pool_style_calls(self):
        host = FakeStore()
        workers = [self.spawn((os.path.join(EXAMPLE, "qa_workers.py"),)) for _ in range(2)]
        demos = [{"question": "What is the capital of France?", "answer": "Paris"},
                 {"question": "Who wrote Hamlet?", "answer": "Shakespeare"},
                 {"question": "What is the boiling point of water in Celsius?", "answer": "100"}]
        pid = host.value_of(workers[0], "create_program", {"signature": "question -> answer", "demos": demos},
                            session="u1")
        for worker in workers:
            self.assertEqual(host.value_of(worker, "run_program",
                                           {"program_id": pid, "inputs": {"question": "who wrote hamlet"}},
                                           session="u1"), {"answer": "Shakespeare"})
        explained = host.value_of(workers[1], "explain_program",
                                  {"program_id": pid, "inputs": {"question": "France capital"}}, session="u1")
        self.assertEqual((explained["outputs"], explained["demo"]), ({"answer": "Paris"}, 0))
        self.assertEqual(host.call(workers[1], "run_program", {"program_id": pid, "inputs": {}},
                                   session="u1")["type"], "ValueError")


class UnitTest(unittest.TestCase):
    """In-process: the cache's bounds and the example predictor, without a worker."""

    def test_cache_bounds(self):
        from pyvisor_worker.protocol import JsonCodec
        from pyvisor_worker.store import _Cache

        codec = JsonCodec()
        cache = _Cache(max_entries=3, max_bytes=400)
        for i in range(4):
            cache.put((None, f"k{i}"), i + 1, [i], codec)
        self.assertIsNone(cache.get((None, "k0")))  # least recently used, over max_entries
        cache.get((None, "k1"))
        cache.put((None, "k4"), 9, [4], codec)
        self.assertIsNotNone(cache.get((None, "k1")))
        self.assertIsNone(cache.get((None, "k2")))
        self.assertIsNone(cache.put((None, "big"), 1, "x" * 101, codec))  # over max_bytes // 4
        cache.put((None, "k1"), 10, "y" * 100, codec)
        self.assertEqual(cache.get((None, "k1"))[:2], (10, "y" * 100))
        self.assertEqual(len(cache), 3)
        cache.configure(max_bytes=100)
        self.assertLessEqual(cache.size_bytes, 100)
        cache.clear()
        self.assertEqual((len(cache), cache.size_bytes), (0, 0))

    def test_program_decorator_timeouts(self):
        from pyvisor_worker.programs import PROGRAM_KINDS, PROGRAM_TIMEOUTS, program

        try:
            @program("ut_timed", timeout_ms=1_500)
            def timed(spec):
                return spec

            @program(timeout_ms=7)
            def ut_bare(spec):
                return spec

            @program("ut_untimed")
            def untimed(spec):
                return spec

            self.assertEqual((PROGRAM_TIMEOUTS["ut_timed"], PROGRAM_TIMEOUTS["ut_bare"]), (1_500, 7))
            self.assertNotIn("ut_untimed", PROGRAM_TIMEOUTS)
            for bad in (0, 2.5, "10", False):
                with self.assertRaisesRegex(ValueError, rf"timeout_ms must be an int from 1 to 2147483647 \(ms\), or None, got {bad!r}"):
                    program("ut_bad", timeout_ms=bad)
            self.assertNotIn("ut_bad", PROGRAM_KINDS)
        finally:
            for kind in ("ut_timed", "ut_bare", "ut_untimed"):
                PROGRAM_KINDS.pop(kind, None)
                PROGRAM_TIMEOUTS.pop(kind, None)

    def test_predictor(self):
        if EXAMPLE not in sys.path:
            sys.path.append(EXAMPLE)
        import fewshot

        self.assertEqual(fewshot.parse_signature("context, question -> answer"), (("context", "question"), ("answer",)))
        for bad in ("question answer", "-> answer", "q -> q", "a b -> c"):
            with self.assertRaises(ValueError):
                fewshot.parse_signature(bad)
        demos = [{"text": "great movie loved it", "label": "pos"}, {"text": "terrible boring movie", "label": "neg"},
                 {"text": "loved the acting", "label": "pos"}]
        p = fewshot.Predict({"signature": "text -> label", "demos": demos})
        self.assertEqual(p("I loved it"), {"label": "pos"})
        self.assertEqual(p({"text": "so boring"}), {"label": "neg"})
        self.assertEqual(p.explain("xyzzy"), ({"label": "pos"}, None, 0.0))  # the most common label
        self.assertEqual(fewshot.Predict({"signature": "q -> a"})("anything"), {"a": None})
        fixed = fewshot.Predict({"signature": "text -> label", "demos": demos, "fallback": {"label": "?"}})
        self.assertEqual(fixed("xyzzy"), {"label": "?"})
        with self.assertRaises(ValueError):
            fewshot.Predict({"signature": "text -> label", "demos": [{"text": "no label"}]})


if __name__ == "__main__":
    unittest.main()
