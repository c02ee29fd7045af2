"""The value model (docs/protocol.md section 2.1) on the Python side: both codecs carry the same
values to the same result, refuse the same ones, and a result they refuse is a clean
`pyvisor.Unserializable` error, never a frame the host cannot read."""
import array
import datetime
import unittest
from unittest import mock

import harness
from harness import WorkerTest
from test_vectors import comparable

from pyvisor_worker import NdArray, UnserializableError
from pyvisor_worker import values
from pyvisor_worker.protocol import JsonCodec
from pyvisor_worker.values import typed_from

UTC = datetime.timezone.utc
ALL_CODECS = [JsonCodec()] + ([harness.CODECS["msgpack"]] if harness.HAS_MSGPACK else [])


def through(codec, value):
    return codec.decode(codec.encode({"v": value}))["v"]


class SameValueTest(unittest.TestCase):
    def assertSameEverywhere(self, value, expected):
        for codec in ALL_CODECS:
            with self.subTest(codec=codec.name, value=value):
                self.assertEqual(comparable(through(codec, value)), comparable(expected))

    def test_plain_values(self):
        for value in (None, True, 0, -1, 2 ** 53, 2 ** 63, 2 ** 64 - 1, -(2 ** 63), 0.5, -0.0, 1e20, "é 🐍", [], {},
                      [1, [2, [3]]], {"a": {"b": [None]}}):
            self.assertSameEverywhere(value, value)

    def test_what_json_lacks(self):
        for value in (b"", b"\x00\xff", float("inf"), float("-inf"), float("nan"), {"__pyvisor__": ["bytes", "AA=="]},
                      {"__proto__": {"x": 1}}, datetime.datetime(1969, 12, 31, 23, 59, 59, 998000, tzinfo=UTC),
                      datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)):
            self.assertSameEverywhere(value, value)

    def test_conversions(self):
        self.assertSameEverywhere(bytearray(b"ab"), b"ab")
        self.assertSameEverywhere(memoryview(b"cd"), b"cd")
        self.assertSameEverywhere((1, (2,)), [1, [2]])
        self.assertSameEverywhere({3}, [3])
        self.assertSameEverywhere(frozenset(), [])
        # Keys as json.dumps writes them, in msgpack too.
        self.assertSameEverywhere({1: "a", 2.5: "b", None: "c", False: "d", -7: "e"},
                                  {"1": "a", "2.5": "b", "null": "c", "false": "d", "-7": "e"})
        # An aware datetime in any zone arrives in UTC.
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        self.assertSameEverywhere(datetime.datetime(2026, 1, 1, 2, tzinfo=plus2), datetime.datetime(2026, 1, 1, tzinfo=UTC))

    def test_typed_arrays(self):
        for typecode, code in (("b", 0), ("B", 1), ("h", 3), ("H", 4), ("i", 5), ("I", 6), ("f", 7), ("d", 8), ("q", 9),
                               ("Q", 10)):
            value = array.array(typecode, [1, 2, 3])
            self.assertSameEverywhere(value, typed_from(code, value.tobytes()))

    def test_both_refuse_the_same(self):
        deep = []
        for _ in range(600):
            deep = [deep]
        for value in ({(1, 2): "a"}, {b"k": 1}, {frozenset(): 1}, {float("nan"): 1}, 2 ** 64, -(2 ** 63) - 1,
                      [[2 ** 70]], "\ud800", {"\udc00": 1}, object(), datetime.datetime(2026, 1, 1), datetime.date(2026, 1, 1),
                      array.array("u", "x") if hasattr(array, "typecodes") and "u" in array.typecodes else object(),
                      deep, 1j):
            for codec in ALL_CODECS:
                with self.subTest(codec=codec.name, value=repr(value)[:40]), self.assertRaises(UnserializableError):
                    codec.encode({"kind": "result", "id": 1, "value": value})

    def test_clean_values_are_not_copied(self):
        # The walk only reads: the Packer and the C encoder get the caller's objects.
        value = {"a": [1, {"b": "c"}], "d": (1, 2)}
        for codec in ALL_CODECS:
            self.assertEqual(through(codec, value), {"a": [1, {"b": "c"}], "d": [1, 2]})


class NdArrayTest(unittest.TestCase):
    """N-D arrays without numpy: pyvisor_worker.NdArray (numpy_checks.py has numpy's)."""

    assertSameEverywhere = SameValueTest.assertSameEverywhere

    def test_builds_checks_and_nests(self):
        m = NdArray("float32", [2, 3], range(6))
        self.assertEqual((m.dtype, m.shape, m.data), ("float32", (2, 3), array.array("f", range(6))))
        self.assertEqual(m.tolist(), [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
        self.assertEqual(NdArray("int8", (2, 2, 2), range(8)).tolist(), [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
        self.assertEqual(NdArray("uint64", (), [2 ** 64 - 1]).tolist(), 2 ** 64 - 1)
        self.assertEqual(NdArray("int16", (0, 3), []).tolist(), [])
        self.assertEqual(NdArray("int16", (2, 0), []).tolist(), [[], []])
        data = array.array("d", [1.0, 2.0])
        self.assertIs(NdArray("float64", (2, 1), data).data, data)  # kept, not copied
        wide = array.array("q", [1, 2])
        self.assertIs(NdArray("int64", (1, 2), wide).data, wide)  # "q" or "l": whichever holds 8-byte ints
        self.assertEqual(NdArray("float64", (2,), array.array("i", [1, 2])).data, array.array("d", [1.0, 2.0]))
        self.assertEqual(NdArray("int32", (1, 2), [1, 2]), NdArray("int32", (1, 2), array.array("i", [1, 2])))
        self.assertNotEqual(NdArray("int32", (1, 2), [1, 2]), NdArray("int32", (2, 1), [1, 2]))
        for dtype, shape, items in (("float16", (1,), [1]), ("uint8clamped", (1,), [1]), ("bool", (1,), [1]),
                                    ("int8", (2, 2), [1, 2, 3]), ("int8", (-1,), []), ("int8", (1.0,), [1]),
                                    ("int8", (True,), [1]), ("int8", (1,) * 33, [1])):
            with self.subTest(dtype=dtype, shape=shape), self.assertRaises(ValueError):
                NdArray(dtype, shape, items)
        with self.assertRaises(OverflowError):
            NdArray("uint8", (1, 1), [256])

    def test_travels_as_numpy_arrays_do(self):
        for value in (NdArray("float64", (2, 3), [0.5] * 6), NdArray("int64", (2, 1), [-(2 ** 63), 2 ** 63 - 1]),
                      NdArray("uint8", (2, 2), [0, 1, 254, 255]), NdArray("int32", (), [7]), NdArray("float32", (0, 4), []),
                      {"nested": [NdArray("uint16", (1, 1, 1), [65535])]}):
            self.assertSameEverywhere(value, value)
        # A 1-D NdArray is a typed array.
        self.assertSameEverywhere(NdArray("int16", (3,), [1, 2, 3]), typed_from(3, array.array("h", [1, 2, 3]).tobytes()))

    def test_arrives_as_ndarray_without_numpy(self):
        with mock.patch.object(values, "_numpy_for_typed", False):  # as if `import numpy` failed
            for codec in ALL_CODECS:
                with self.subTest(codec=codec.name):
                    m = NdArray("float64", (2, 2), [1.0, 2.0, 3.0, 4.0])
                    self.assertEqual(through(codec, m), m)
                    self.assertEqual(through(codec, NdArray("uint64", (), [2 ** 64 - 1])), NdArray("uint64", (), [2 ** 64 - 1]))
                    self.assertEqual(through(codec, NdArray("int8", (3,), [1, 2, 3])), array.array("b", [1, 2, 3]))

    def test_refuses_an_ndarray_whose_data_no_longer_fits(self):
        m = NdArray("int32", (2, 2), range(4))
        m.data.append(5)
        for codec in ALL_CODECS:
            with self.subTest(codec=codec.name), self.assertRaisesRegex(UnserializableError, "NdArray of shape"):
                codec.encode({"v": m})


class ResultsTest(WorkerTest):
    def setUp(self):
        self.w = self.spawn(imports=["basic", "codec_values"])

    def test_unencodable_results_are_clean_errors_and_the_worker_lives_on(self):
        pid = self.w.call("pid")["value"]
        for name in ("tuple_key", "bytes_key", "too_big", "naive_datetime") + (("ext_type",) if harness.HAS_MSGPACK else ()):
            with self.subTest(name=name):
                answer = self.w.call(name)
                self.assertEqual((answer["kind"], answer["type"]), ("error", "pyvisor.Unserializable"), answer)
                self.assertIn(self.w.codec.name, answer["message"])
        self.assertEqual(self.w.call("pid")["value"], pid)

    def test_values_arrive_alike_in_both_codecs(self):
        expected = {"bytes": b"\x00\xff", "ba": b"ab", "nan": float("nan"), "big": 2 ** 63, "neg": -(2 ** 63),
                    "f64": typed_from(8, array.array("d", [1.5, -2.0]).tobytes()),
                    "i16": typed_from(3, array.array("h", [-3, 4]).tobytes()),
                    "when": datetime.datetime(2026, 5, 4, 3, 2, 1, 123000, tzinfo=UTC), "set": [7], "tuple": [1, [2]]}
        self.assertEqual(comparable(self.w.call("values")["value"]), comparable(expected))
        self.assertEqual(self.w.call("odd_keys")["value"], {"1": "int", "2.5": "float", "null": "none", "false": "bool"})
        self.assertEqual(self.w.call("proto_key")["value"], {"__proto__": {"polluted": True}, "b": [b"\x00"]})
        echoed = self.w.call("echo", {"value": expected})["value"]
        self.assertEqual(comparable(echoed), comparable(expected))


if __name__ == "__main__":
    unittest.main()
