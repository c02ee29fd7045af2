"""In-process unit tests of the pieces that need no subprocess: registry, codecs, frame reader."""
import functools
import os
import struct
import unittest
from unittest import mock

import harness  # noqa: F401 (puts python/ on sys.path)

from pyvisor_worker import Context, HostCallError, UnserializableError, handler
from pyvisor_worker.protocol import FrameReader, JsonCodec, ProtocolViolation, available_codecs
from pyvisor_worker.registry import REGISTRY
from pyvisor_worker.errors import error_type


class RegistryTest(unittest.TestCase):
    def tearDown(self):
        for name in [n for n in REGISTRY if n.startswith("ut_")]:
            del REGISTRY[name]

    def test_forms_and_context_detection(self):
        @handler
        def ut_plain(a, b=1):
            return a

        @handler("ut_named")
        def whatever(ctx, x):
            return x

        @handler()
        def ut_annotated(c: Context):
            return c

        @handler
        def ut_string_annotation(c: "Context", y=0):
            return c

        @handler
        def ut_not_first(a, ctx=None):
            return a

        class Callable:
            def __call__(self, ctx, x):
                return x

        handler("ut_callable")(Callable())
        handler("ut_partial")(functools.partial(lambda c, x: x, x=1))
        handler("ut_builtin")(len)

        self.assertIs(REGISTRY["ut_plain"][0], ut_plain)  # returned unchanged
        self.assertEqual(ut_plain(5), 5)
        self.assertEqual({n: REGISTRY[n][1] for n in REGISTRY if n.startswith("ut_")},
                         {"ut_plain": False, "ut_named": True, "ut_annotated": True,
                          "ut_string_annotation": True, "ut_not_first": False, "ut_callable": True,
                          "ut_partial": False, "ut_builtin": False})
        self.assertNotIn("whatever", REGISTRY)

    def test_duplicate_name_raises(self):
        handler("ut_dup")(lambda: 1)
        with self.assertRaisesRegex(ValueError, "duplicate handler name 'ut_dup'"):
            handler("ut_dup")(lambda: 2)

    def test_bad_use_raises(self):
        with self.assertRaises(TypeError):
            handler(42)
        with self.assertRaises(TypeError):
            handler("ut_x")(42)


class ErrorTypeTest(unittest.TestCase):
    def test_names(self):
        class Local(Exception):
            pass

        self.assertEqual(error_type(ValueError()), "ValueError")
        self.assertEqual(error_type(Local()), f"{__name__}.ErrorTypeTest.test_names.<locals>.Local")
        self.assertEqual(error_type(UnserializableError()), "pyvisor.Unserializable")
        self.assertEqual(error_type(HostCallError("KeyError", "k")), "pyvisor_worker.HostCallError")
        self.assertEqual(error_type(OSError(2, "x")), "FileNotFoundError")


class CodecTest(unittest.TestCase):
    def test_json_rejects_what_it_cannot_carry(self):
        codec = JsonCodec()
        for value in (object(), "\udc80", {(1, 2): "a"}, {b"k": 1}, 2 ** 64, -(2 ** 63) - 1):
            with self.subTest(value=value), self.assertRaises(UnserializableError):
                codec.encode({"value": value})

    def test_json_carries_bytes_nan_and_big_ints_as_tags(self):
        codec = JsonCodec()
        self.assertEqual(codec.encode({"b": b"\x00\x01\xfe"}), b'{"b":{"__pyvisor__":["bytes","AAH+"]}}')
        self.assertEqual(codec.encode([float("nan"), float("-inf")]),
                         b'[{"__pyvisor__":["float","NaN"]},{"__pyvisor__":["float","-Infinity"]}]')
        self.assertEqual(codec.encode([2 ** 53, 2 ** 53 + 1]), b'[9007199254740992,{"__pyvisor__":["int","9007199254740993"]}]')
        # A dict of the user's with the tag key is wrapped, so it is never read as a tag.
        self.assertEqual(codec.encode({"__pyvisor__": ["bytes", "AA=="]}),
                         b'{"__pyvisor__":["object",["__pyvisor__",["bytes","AA=="]]]}')
        for value in (b"x", float("nan"), 2 ** 63, {"__pyvisor__": 1, "x": [b""]}, "digits 1234567890123456789"):
            with self.subTest(value=value):
                self.assertEqual(codec.decode(codec.encode({"v": value})), {"v": value} if value == value else {"v": mock.ANY})

    def test_encode_result_is_encode_of_the_envelope(self):
        # The short path must give the very bytes, and refuse the very values, that encode() does.
        import collections  # noqa: PLC0415

        point = collections.namedtuple("point", "x y")
        values = (None, True, 0, -1, 2 ** 63, 2 ** 64 - 1, 1.5, float("nan"), "é", b"\x00", [1, (2, 3)], {"a": {"b": [None]}},
                  {1: "int key"}, {"__proto__": 1}, point(1, 2), [b"x" * 20] * 20,
                  2 ** 53, -(2 ** 53), 2 ** 53 + 1, -(2 ** 53) - 1, 10 ** 15, 'say "__pyvisor__": 1234567890123456789',
                  "quote \" back \\ nl \n nul \x00 \u2028", "", float("inf"))
        refused = (object(), "\udc80", {(1, 2): "a"}, {b"k": 1}, 2 ** 64, -(2 ** 63) - 1, [object()])
        for codec in available_codecs():
            for value in values:
                with self.subTest(codec=codec.name, value=value):
                    self.assertEqual(codec.encode_result(7, value), codec.encode({"kind": "result", "id": 7, "value": value}))
            for value in refused:
                with self.subTest(codec=codec.name, refused=value), self.assertRaises(UnserializableError):
                    codec.encode_result(7, value)

    def test_decode_frame_is_decode(self):
        # decode_frame keeps state between payloads (msgpack's Unpacker): a bad payload must be refused
        # as decode() refuses it, and must leave nothing behind for the next one.
        for codec in available_codecs():
            good = codec.encode({"kind": "call", "id": 1, "args": {"b": b"\x00" * 70000, "s": "é"}})
            small = codec.encode({"kind": "ping", "id": 2})
            bad = (small[:-1], small + small, b"\xc1", good[:100], b"")
            for payload in (small, good, bytearray(small), *bad, small):
                with self.subTest(codec=codec.name, payload=bytes(payload[:20])):
                    try:
                        expected = codec.decode(payload)
                    except Exception as exc:  # noqa: BLE001
                        with self.assertRaises(type(exc) if codec.name == "json" else Exception):
                            codec.decode_frame(payload)
                    else:
                        self.assertEqual(codec.decode_frame(payload), expected)

    def test_json_is_compact_utf8(self):
        self.assertEqual(JsonCodec().encode({"a": [1, "é"]}), '{"a":[1,"é"]}'.encode("utf-8"))

    def test_json_decoder_refuses_non_utf8(self):
        with self.assertRaises(ValueError):
            JsonCodec().decode('{"a":1}'.encode("utf-16"))

    def test_available_codecs(self):
        self.assertEqual([c.name for c in available_codecs("json")], ["json"])
        self.assertEqual([c.name for c in available_codecs(" json , nothing")], ["json"])
        self.assertEqual(available_codecs("nothing"), [])
        self.assertEqual(available_codecs(None)[-1].name, "json")
        if harness.HAS_MSGPACK:
            self.assertEqual([c.name for c in available_codecs("")], ["msgpack", "json"])
            self.assertEqual([c.name for c in available_codecs("msgpack")], ["msgpack"])


class FrameReaderTest(unittest.TestCase):
    def frames_of(self, data, max_frame=1 << 20, chunk=8, split=3):
        r, w = os.pipe()
        try:
            for i in range(0, len(data), split):
                os.write(w, data[i:i + split])  # small writes: headers split across reads
            os.close(w)
            return [bytes(p) for p in FrameReader(r, max_frame, chunk=chunk).frames()]
        finally:
            os.close(r)

    def test_split_and_coalesced_frames(self):
        payloads = [b"a", b"bc" * 20, b"d" * 5, os.urandom(100)]
        data = b"".join(struct.pack(">I", len(p)) + p for p in payloads)
        for split in (1, 3, 7, 1000):
            self.assertEqual(self.frames_of(data, split=split), payloads)

    def test_truncated_frame_is_eof(self):
        self.assertEqual(self.frames_of(struct.pack(">I", 50) + b"x" * 10), [])

    def test_limit_and_empty(self):
        with self.assertRaises(ProtocolViolation):
            self.frames_of(struct.pack(">I", 11) + b"x" * 11, max_frame=10)
        with self.assertRaises(ProtocolViolation):
            self.frames_of(struct.pack(">I", 0))


if __name__ == "__main__":
    unittest.main()
