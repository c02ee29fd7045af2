"""Checks that need numpy: run.sh runs them on the interpreter that has it (`python3`), so nothing
here is ever skipped. Not named test_* so `unittest discover` leaves it to run.sh."""
import array
import unittest

import test_codec_values as values
from test_codec_values import ALL_CODECS, through

from pyvisor_worker import UnserializableError


class NumpyValuesTest(unittest.TestCase):
    assertSameEverywhere = values.SameValueTest.assertSameEverywhere

    def test_numpy_arrays(self):
        import numpy as np  # noqa: PLC0415
        self.assertSameEverywhere(np.arange(4, dtype=np.float32), np.arange(4, dtype=np.float32))
        self.assertSameEverywhere(np.arange(6, dtype=">i4")[::2], np.array([0, 2, 4], dtype="<i4"))  # any order, strided
        self.assertSameEverywhere({"n": np.int64(5), "f": np.float64(0.5), "b": np.bool_(True)}, {"n": 5, "f": 0.5, "b": True})
        self.assertIsInstance(through(ALL_CODECS[0], array.array("d", [1.0])), np.ndarray)
        for bad in (np.zeros((2, 2)), np.zeros(2, dtype=np.complex64), np.zeros(2, dtype=np.float16)):
            for codec in ALL_CODECS:
                with self.subTest(codec=codec.name, bad=bad.dtype), self.assertRaises(UnserializableError):
                    codec.encode({"v": bad})


if __name__ == "__main__":
    unittest.main()
