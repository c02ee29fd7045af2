"""Checks that need numpy: run.sh runs them on the interpreter that has it (`python3`), so nothing
here is ever skipped. Not named test_* so `unittest discover` leaves it to run.sh."""
import array
import struct
import unittest
from collections import namedtuple

import numpy as np

import test_codec_values as values
from harness import WorkerTest
from test_codec_values import ALL_CODECS, through

from pyvisor_worker import NdArray, UnserializableError
from pyvisor_worker.values import NDARRAY_EXT, TYPED_EXT, MsgpackValues

# Every dtype that travels, by its name on the wire.
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")


class NumpyValuesTest(unittest.TestCase):
    assertSameEverywhere = values.SameValueTest.assertSameEverywhere

    def test_numpy_arrays(self):
        self.assertSameEverywhere(np.arange(4, dtype=np.float32), np.arange(4, dtype=np.float32))
        self.assertSameEverywhere(np.arange(6, dtype=">i4")[::2], np.array([0, 2, 4], dtype="<i4"))  # any order, strided
        self.assertSameEverywhere({"n": np.int64(5), "f": np.float64(0.5), "b": np.bool_(True)}, {"n": 5, "f": 0.5, "b": True})
        self.assertIsInstance(through(ALL_CODECS[0], array.array("d", [1.0])), np.ndarray)
        for bad in (np.zeros((2, 2), dtype=bool), np.zeros(2, dtype=np.complex64), np.zeros((2, 2), dtype=np.float16),
                    np.zeros((1, 2), dtype=object), np.zeros((2, 2), dtype="datetime64[s]")):
            for codec in ALL_CODECS:
                with self.subTest(codec=codec.name, bad=bad.dtype), self.assertRaisesRegex(UnserializableError, "dtype"):
                    codec.encode({"v": bad})


class NdArraysTest(unittest.TestCase):
    def assertArrives(self, value, expected):
        """value travels as an array of expected's dtype, shape and elements, a writeable C-ordered numpy array."""
        for codec in ALL_CODECS:
            with self.subTest(codec=codec.name, shape=np.shape(value)):
                got = through(codec, value)
                self.assertIs(type(got), np.ndarray)
                self.assertEqual((got.dtype, got.shape), (expected.dtype, expected.shape))
                self.assertEqual(got.tolist(), expected.tolist())
                self.assertTrue(got.flags.c_contiguous and got.flags.writeable)

    def test_shapes_and_dtypes_round_trip(self):
        for dtype in DTYPES:
            for shape in ((2, 3), (2, 2, 2), (0, 3), (3, 0, 2), (), (1, 1, 1, 1)):
                value = (np.arange(int(np.prod(shape))) % 100).astype(dtype).reshape(shape)
                self.assertArrives(value, value)
        extremes = np.array([[np.iinfo(np.int64).min, np.iinfo(np.int64).max]], dtype=np.int64)
        self.assertArrives(extremes, extremes)
        self.assertArrives(np.array([[2 ** 64 - 1]], dtype=np.uint64), np.array([[2 ** 64 - 1]], dtype=np.uint64))
        floats = np.array([[np.nan, np.inf], [-0.0, 1e300]])
        for codec in ALL_CODECS:
            self.assertEqual(through(codec, floats).tobytes(), floats.tobytes())

    def test_any_memory_order_travels_in_c_order(self):
        c_order = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
        fortran = np.asfortranarray(c_order)
        strided = np.arange(48, dtype=np.float64).reshape(4, 12)[::2, ::3]
        big_endian = c_order.astype(">f8")
        transposed = c_order.T  # a view, Fortran-contiguous
        self.assertFalse(fortran.flags.c_contiguous or strided.flags.contiguous)
        self.assertArrives(fortran, c_order)
        self.assertArrives(strided, np.array([[0, 3, 6, 9], [24, 27, 30, 33]], dtype=np.float64))
        self.assertArrives(big_endian, c_order)
        self.assertArrives(transposed, np.ascontiguousarray(transposed))
        for codec in ALL_CODECS:
            for value in (fortran, big_endian):
                with self.subTest(codec=codec.name):
                    self.assertEqual(codec.encode({"v": value}), codec.encode({"v": c_order}))  # the very same bytes

    def test_numpy_arrays_and_ndarray_travel_alike(self):
        for codec in ALL_CODECS:
            with self.subTest(codec=codec.name):
                self.assertEqual(codec.encode({"v": np.arange(6, dtype=np.int16).reshape(2, 3)}),
                                 codec.encode({"v": NdArray("int16", (2, 3), range(6))}))
                self.assertEqual(codec.encode({"v": np.array(1.5)}), codec.encode({"v": NdArray("float64", (), [1.5])}))
                # A 1-D array is a typed array, whichever way it is spelt.
                self.assertEqual(codec.encode({"v": NdArray("int16", (3,), range(3))}), codec.encode({"v": np.arange(3, dtype=np.int16)}))
                # An NdArray from Python arrives as numpy's here, where numpy imports.
                got = through(codec, NdArray("uint8", (2, 2), [1, 2, 3, 255]))
                self.assertEqual((type(got), got.dtype, got.tolist()), (np.ndarray, np.uint8, [[1, 2], [3, 255]]))

    def test_refuses_more_dimensions_than_numpy_1(self):
        ok = np.zeros((1,) * 32)
        for codec in ALL_CODECS:
            self.assertEqual(through(codec, ok).shape, ok.shape)
        if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # numpy 1 cannot even build one
            for codec in ALL_CODECS:
                with self.subTest(codec=codec.name), self.assertRaisesRegex(UnserializableError, "33 dimensions"):
                    codec.encode({"v": np.zeros((1,) * 33)})

    def test_msgpack_extension_bytes(self):
        # The msgpack half of the value mapping, without the msgpack package (this interpreter has
        # none): the extensions it hands the Packer, and what it makes of them.
        ext = namedtuple("ExtType", "code data")
        mp = MsgpackValues(None, None, ext)
        value = np.asfortranarray(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16))
        # code 3 (int16), 2 dimensions, 2 and 3, then the elements in C order.
        expected = bytes((3, 2)) + struct.pack("<2I", 2, 3) + np.arange(1, 7, dtype="<i2").tobytes()
        self.assertEqual(mp.default(value), ext(NDARRAY_EXT, expected))
        self.assertEqual(mp.default(NdArray("int16", (2, 3), range(1, 7))), ext(NDARRAY_EXT, expected))
        self.assertEqual(mp.default(np.array(7, dtype=np.uint8)), ext(NDARRAY_EXT, b"\x01\x00\x07"))
        self.assertEqual(mp.default(np.arange(2, dtype=np.uint8)), ext(TYPED_EXT, b"\x01\x00\x01"))
        got = mp.ext_hook(NDARRAY_EXT, expected)
        self.assertEqual((got.dtype, got.shape, got.tolist()), (np.int16, (2, 3), [[1, 2, 3], [4, 5, 6]]))
        self.assertTrue(got.flags.writeable)
        self.assertEqual(mp.ext_hook(NDARRAY_EXT, b"\x08\x00" + struct.pack("<d", 2.5)).tolist(), 2.5)
        for bad in (b"", b"\x03", b"\x03\x02\x02\x00\x00\x00", expected[:-1], expected + b"\x00", b"\x02\x02" + expected[2:],
                    b"\x0b\x00\x00"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                mp.ext_hook(NDARRAY_EXT, bad)


class NdArrayCallsTest(WorkerTest):
    def test_arrays_arrive_and_return_through_a_worker(self):
        w = self.spawn(imports=["ndarrays"])
        matrix = w.call("matrix")["value"]
        self.assertEqual((matrix.dtype, matrix.shape, matrix.tolist()), (np.float32, (2, 3), [[0, 1, 2], [3, 4, 5]]))
        self.assertEqual(w.call("fortran")["value"].tolist(), [[0, 1, 2], [3, 4, 5]])
        self.assertEqual(w.call("describe", {"value": NdArray("uint16", (1, 2), [1, 2])})["value"],
                         {"type": "numpy.ndarray", "dtype": "uint16", "shape": [1, 2], "values": [[1, 2]], "writeable": True})
        back = w.call("transpose", {"value": np.arange(6, dtype=np.int64).reshape(2, 3)})["value"]
        self.assertEqual((back.dtype, back.shape, back.tolist()), (np.int64, (3, 2), [[0, 3], [1, 4], [2, 5]]))


if __name__ == "__main__":
    unittest.main()
