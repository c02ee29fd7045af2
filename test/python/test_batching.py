"""Batched stream items (pyvisor_worker/batching.py): the policy with an injected clock, no sleeps;
then through the Invoker, and through a real worker once the host offers `chunks` in welcome."""
import threading
import unittest

from harness import InvokerTest, RecordingWriter, Worker, WorkerTest, stream_items

from pyvisor_worker import handler
from pyvisor_worker.batching import GAP, MAX_AGE, MAX_BYTES, MAX_ITEMS, StreamSender
from pyvisor_worker.protocol import UnserializableError

US = 1e-6  # one microsecond
QUICK = 2 * US  # a producer this fast is ahead
SLOW = 30_000 * US  # an LLM-like producer: one token every 30 ms


class Clock:
    """Seconds, moved only by the test. `step` is added on every read (0: frozen)."""

    def __init__(self, step=0.0):
        self.now = 1000.0
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


class Stream:
    """What StreamSender uses of a stream call's Context: id, window, credit under a lock, cancel,
    _grant (credit given back), and _wait_credit, here answered by `on_wait(stream)` instead of
    blocking."""

    def __init__(self, window=None, on_wait=None):
        self.id = 7
        self._window = self._credit = window
        self._lock = None if window is None else threading.Lock()
        self._cancelled = False
        self.on_wait = on_wait

    def _wait_credit(self):
        return self.on_wait(self)

    def _grant(self, n):
        with self._lock:
            self._credit += n


class Rig:
    def __init__(self, window=None, on_wait=None, **options):
        self.clock = Clock()
        self.writer = RecordingWriter()
        self.stream = Stream(window, on_wait)
        self.sender = StreamSender(self.stream, self.writer, self.clock, **options)

    def add(self, value, after=QUICK):
        """The producer yields `value` `after` seconds after it got control back."""
        self.clock.now += after
        return self.sender.add(value)

    def frames(self):
        """(kind, items) of each frame sent so far."""
        return [(m["kind"], [m["value"]] if m["kind"] == "chunk" else m["values"]) for m in self.writer.sent]


def run_of(first, last):
    return list(range(first, last + 1))


class PolicyTest(unittest.TestCase):
    def test_a_slow_producer_has_each_item_sent_as_it_comes(self):
        rig = Rig(window=64)
        for i in range(5):
            self.assertTrue(rig.add(i, after=SLOW))
            self.assertEqual(rig.frames()[-1], ("chunk", [i]), "sent before the producer runs again")
        self.assertEqual(len(rig.writer.sent), 5)

    def test_just_over_the_gap_is_not_ahead(self):
        rig = Rig()
        rig.add(0)
        rig.add(1, after=GAP * 1.01)
        rig.add(2, after=GAP * 0.99)
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunk", [1])])
        self.assertEqual(rig.sender.items, [2])

    def test_the_first_item_goes_at_once_even_from_a_fast_producer(self):
        rig = Rig()
        rig.add("first")
        self.assertEqual(rig.frames(), [("chunk", ["first"])])

    def test_a_producer_ahead_is_batched_up_to_max_items(self):
        rig = Rig()  # no window: only MAX_ITEMS, bytes and age bound a batch
        n = 1 + MAX_ITEMS + 10
        for i in range(n):
            rig.add(i)
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunks", run_of(1, MAX_ITEMS))])
        self.assertEqual(rig.sender.items, run_of(MAX_ITEMS + 1, n - 1))
        rig.sender.flush()
        self.assertEqual(rig.frames()[-1], ("chunks", run_of(MAX_ITEMS + 1, n - 1)))

    def test_an_item_after_a_pause_goes_at_once_with_what_is_held(self):
        rig = Rig()
        for i in range(5):
            rig.add(i)
        # The worst case: a producer that was ahead, then blocks; its held items wait for that step.
        self.assertEqual(rig.frames(), [("chunk", [0])])
        rig.add(5, after=SLOW)
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunks", [1, 2, 3, 4, 5])])
        self.assertEqual(rig.sender.items, [])

    def test_the_first_held_item_waits_at_most_max_age(self):
        rig = Rig()
        tick = 30 * US  # ahead (below GAP), yet slow enough for the age to end batches
        for i in range(120):
            rig.add(i, after=tick)
        frames = rig.frames()
        self.assertEqual(frames[0], ("chunk", [0]))
        per_batch = int(MAX_AGE / tick) + 1  # the item at which the first held one has waited MAX_AGE
        for kind, items in frames[1:]:
            self.assertEqual((kind, len(items)), ("chunks", per_batch + 1))
            self.assertGreaterEqual((len(items) - 1) * tick, MAX_AGE)
            self.assertLess((len(items) - 2) * tick, MAX_AGE)
        self.assertEqual(stream_items(rig.writer.sent) + rig.sender.items, list(range(120)))

    def test_a_batch_holds_at_most_half_the_window(self):
        rig = Rig(window=8)
        for i in range(7):
            rig.add(i)
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunks", [1, 2, 3, 4])])

    def test_credit_is_taken_per_item_and_nothing_is_held_while_waiting_for_more(self):
        seen = []

        def on_wait(stream):
            # Every item taken so far has been sent: the host can take them and grant more.
            seen.append((stream_items(rig.writer.sent), list(rig.sender.items)))
            stream._credit += 4 - 1  # the host grants 4; the waiter takes one
            return True

        rig = Rig(window=8, on_wait=on_wait)
        for i in range(12):
            rig.add(i)
        self.assertEqual(seen, [(list(range(8)), [])])
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunks", [1, 2, 3, 4]), ("chunks", [5, 6, 7]),
                                        ("chunks", [8, 9, 10, 11])])
        self.assertEqual(rig.stream._credit, 0)  # 8 + 4 granted, 12 sent: never beyond the credit

    def test_a_batch_gives_back_the_credit_it_did_not_use(self):
        rig = Rig(window=64)
        for i in range(3):
            rig.add(i)
        sender = rig.sender
        # Sent, held, taken for the batch and still free: always the whole window.
        self.assertEqual(len(stream_items(rig.writer.sent)) + len(sender.items) + sender.budget + rig.stream._credit, 64)
        self.assertGreater(sender.budget, 0)
        sender.flush()
        self.assertEqual((sender.budget, rig.stream._credit), (0, 64 - 3))

    def test_a_cancelled_stream_sends_nothing_more(self):
        rig = Rig(window=4, on_wait=lambda stream: False)  # cancelled while waiting
        for i in range(4):
            self.assertTrue(rig.add(i))
        self.assertFalse(rig.add(4))
        self.assertEqual(stream_items(rig.writer.sent), [0, 1, 2, 3])
        rig = Rig()
        rig.add(0)
        rig.add(1)
        rig.stream._cancelled = True
        self.assertFalse(rig.add(2))
        self.assertEqual(rig.sender.items, [1])  # the invoker sends what was held before the cancel

    def test_about_max_bytes_of_text_make_a_batch(self):
        rig = Rig()
        text = "x" * (MAX_BYTES // 2 + 1)
        for i in range(4):
            rig.add(f"{i}{text}")
        # Two such strings make a batch; after it, items that size go one per frame.
        self.assertEqual([(kind, len(items)) for kind, items in rig.frames()], [("chunk", 1), ("chunks", 2), ("chunk", 1)])

    def test_the_size_per_item_of_the_last_batch_bounds_the_next(self):
        rig = Rig()
        row = {"name": "r" * 1000}
        for _ in range(1 + MAX_ITEMS + 200):
            rig.add(row)
        sizes = [len(items) for _, items in rig.frames()]
        # Until a batch went out, an item is guessed small; then each counts as what it weighed.
        self.assertEqual(sizes[:2], [1, MAX_ITEMS])
        self.assertLess(sizes[2], MAX_ITEMS)
        self.assertAlmostEqual(sizes[2], MAX_BYTES // rig.sender.per_item, delta=2)

    def test_a_batch_over_the_hosts_frame_limit_goes_item_by_item(self):
        rig = Rig(max_frame_bytes=100)
        for i in range(4):
            rig.add("y" * 40 + str(i))
        rig.sender.flush()
        self.assertEqual([kind for kind, _ in rig.frames()], ["chunk"] * 4)
        self.assertEqual(len(stream_items(rig.writer.sent)), 4)

    def test_an_item_that_does_not_encode_raises_after_the_items_before_it(self):
        rig = Rig()
        for value in (0, 1, object(), 3):
            rig.add(value)
        with self.assertRaises(UnserializableError):
            rig.sender.flush()
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunk", [1])])
        self.assertEqual(rig.sender.items, [])

    def test_flush_here_only_on_the_streams_thread(self):
        rig = Rig()
        rig.add(0)
        rig.add(1)
        other = threading.Thread(target=rig.sender.flush_here)
        other.start()
        other.join()
        self.assertEqual(rig.sender.items, [1])
        rig.sender.flush_here()
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunk", [1])])

    def test_a_suspended_async_step_has_held_items_sent(self):
        class Step:
            def __init__(self, done):
                self._done = done

            def done(self):
                return self._done

        rig = Rig()
        for i in range(3):
            rig.add(i)
        rig.sender.flush_if_suspended(Step(True))  # finished in its first slice: keep batching
        self.assertEqual(rig.sender.items, [1, 2])
        rig.sender.flush_if_suspended(Step(False))
        self.assertEqual(rig.frames(), [("chunk", [0]), ("chunks", [1, 2])])
        rig.add(object())
        rig.add(4)
        rig.sender.flush_if_suspended(Step(False))  # runs in the loop: the error waits for the stream loop
        self.assertIsInstance(rig.sender.error, UnserializableError)


# --- through the Invoker ------------------------------------------------------------------------

PREFIX = "bat_"
events = []


def _register():
    @handler("bat_count")
    def count(n):
        yield from range(n)

    @handler("bat_fail_after")
    def fail_after(n):
        yield from range(n)
        raise ValueError("broke")

    @handler("bat_emit_between")
    def emit_between(ctx):
        yield 0
        yield 1
        yield 2
        ctx.emit("emitted")
        ctx.log("info", "logged")
        yield 3

    @handler("bat_self_cancel")
    def self_cancel(ctx):
        for i in range(100):
            if i == 5:
                ctx._cancel()  # as the reader would, on a `cancel` frame
            yield i

    @handler("bat_agen_pauses")
    async def agen_pauses(writer_sent):
        import asyncio  # noqa: PLC0415

        for i in range(3):
            yield i
        await asyncio.sleep(0)  # suspends: the items yielded so far must be on their way
        events.append(stream_items(writer_sent))
        yield 3

    @handler("bat_agen_quick")
    async def agen_quick(n):
        for i in range(n):
            yield i

    @handler("bat_bad_item")
    def bad_item():
        yield from (0, 1, 2)
        yield object()
        yield 4


class BatchedInvokeTest(InvokerTest):
    prefix = PREFIX
    register = staticmethod(_register)

    def invoker_options(self):
        # Every read of the clock 1 µs later: the producer is always ahead, only what ends a
        # batch otherwise (its size, credit, the stream's end, a suspended step) sends one.
        return {"batching": True, "clock": Clock(step=US)}

    def setUp(self):
        super().setUp()
        del events[:]

    def tearDown(self):
        if self.invoker.loop is not None:
            self.invoker.loop.close()

    def run_call(self, name, args=None, **extra):
        ctx = self.context(name, args, stream=True, **extra)
        start = len(self.writer.sent)
        self.invoker.run(ctx)
        self.assertIsNone(ctx._sender)
        return self.writer.sent[start:]

    def test_a_quick_generator_streams_in_batches_in_order(self):
        # No host grants credit here: a window covers the whole stream.
        for window, n in ((None, 1000), (1000, 1000), (3, 3)):
            with self.subTest(window=window):
                frames = self.run_call("bat_count", [n], **({} if window is None else {"window": window}))
                self.assertEqual(stream_items(frames), list(range(n)))
                self.assertEqual(frames[-1], {"kind": "end", "id": self.next_id})
                if window is None or window > 3:
                    self.assertIn("chunks", [f["kind"] for f in frames])
                    self.assertLess(len(frames), 20)
                else:  # a batch holds at most half the window: one item
                    self.assertEqual({f["kind"] for f in frames[:-1]}, {"chunk"})

    def test_an_async_generator_streams_in_batches_in_order(self):
        frames = self.run_call("bat_agen_quick", [500])
        self.assertEqual(stream_items(frames), list(range(500)))
        self.assertIn("chunks", [f["kind"] for f in frames])

    def test_held_items_arrive_before_the_error(self):
        frames = self.run_call("bat_fail_after", [10])
        self.assertEqual(stream_items(frames), list(range(10)))
        self.assertEqual((frames[-1]["kind"], frames[-1]["type"]), ("error", "ValueError"))

    def test_emit_and_log_keep_their_place_among_yielded_items(self):
        frames = self.run_call("bat_emit_between")
        self.assertEqual([f.get("value", f.get("values", f.get("message"))) for f in frames],
                         [0, [1, 2], "emitted", "logged", 3, None])

    def test_a_cancel_sends_what_was_held_then_end(self):
        frames = self.run_call("bat_self_cancel")
        self.assertEqual(stream_items(frames), [0, 1, 2, 3, 4])
        self.assertEqual(frames[-1]["kind"], "end")

    def test_an_async_generator_that_suspends_has_its_held_items_sent_first(self):
        frames = self.run_call("bat_agen_pauses", {"writer_sent": self.writer.sent})
        self.assertEqual(events, [[0, 1, 2]])
        self.assertEqual(stream_items(frames), [0, 1, 2, 3])

    def test_an_item_that_does_not_encode_ends_the_stream_after_those_before_it(self):
        frames = self.run_call("bat_bad_item")
        self.assertEqual(stream_items(frames), [0, 1, 2])
        self.assertEqual((frames[-1]["kind"], frames[-1]["type"]), ("error", "pyvisor.Unserializable"))
        self.assertIn("stream item of 'bat_bad_item'", frames[-1]["message"])

    def test_without_the_feature_every_item_is_a_chunk(self):
        self.invoker.batching = False
        frames = self.run_call("bat_count", [50], window=64)
        self.assertEqual({f["kind"] for f in frames}, {"chunk", "end"})
        self.assertEqual(stream_items(frames), list(range(50)))


# --- a real worker ------------------------------------------------------------------------------

class WorkerBatchingTest(WorkerTest):
    def test_chunks_only_once_welcome_offers_them(self):
        for features, batched in ((None, False), ([], False), (["chunks", "from-the-future"], True)):
            with self.subTest(features=features):
                w = self.spawn(features=features)
                call_id = w.start_call("count", {"n": 20000}, stream=True)
                frames = w.answer(call_id)
                self.assertEqual(stream_items(frames), list(range(20000)))
                self.assertEqual(frames[-1], {"kind": "end", "id": call_id})
                self.assertEqual("chunks" in {f["kind"] for f in frames}, batched)

    def test_credit_still_bounds_what_the_worker_sends(self):
        w = self.spawn(features=["chunks"])
        call_id = w.start_call("count", {"n": 100}, stream=True, window=8)
        got = []
        while len(got) < 8:
            got += stream_items([w.recv_kind("chunk", "chunks")])
        self.assertEqual(got, list(range(8)))
        with self.assertRaises(AssertionError):  # nothing more without credit
            w.recv(timeout=0.15)
        w.send({"kind": "credit", "id": call_id, "n": 92})
        self.assertEqual(got + stream_items(w.answer(call_id)), list(range(100)))

    def test_features_must_be_a_list_of_strings(self):
        for features in ("chunks", [1], {"chunks": True}):
            with self.subTest(features=features):
                w = self.spawn(handshake=False)
                self.assertEqual(w.recv()["kind"], "hello")
                w.send({"kind": "welcome", "codec": "json", "features": features})
                self.assertExits(w, 3)


if __name__ == "__main__":
    unittest.main()
