"""Shared byte-exact test vectors (docs/protocol.md section 5), generated from the TypeScript side.

Each entry is decoded from its JSON and msgpack frames and compared with `message`, and `message`
is re-encoded and compared byte for byte, so both implementations provably speak the same bytes,
and both codecs provably carry the same values (the value-* entries).
"""
import array
import json
import math
import os
import struct
import unittest

from harness import ROOT

from pyvisor_worker.protocol import JsonCodec
from pyvisor_worker.values import TYPED_NAMES, NdArray, datetime_from_ms, ndarray_from, typed_from

VECTORS = os.path.join(ROOT, "test", "vectors", "messages.json")


def from_file(value):
    """The file spells what JSON cannot as {"$bytes": hex}, {"$typed": [name, hex]}, {"$ndarray":
    [name, shape, hex]}, {"$date": ms}, {"$float": text} and {"$int": digits}
    (test/vectors/file-form.ts); turn them into values (an N-D array: numpy's where it imports)."""
    if isinstance(value, dict):
        if len(value) == 1:
            (marker, payload), = value.items()
            if marker == "$bytes":
                return bytes.fromhex(payload)
            if marker == "$typed":
                return typed_from(TYPED_NAMES.index(payload[0]), bytes.fromhex(payload[1]))
            if marker == "$ndarray":
                return ndarray_from(TYPED_NAMES.index(payload[0]), payload[1], bytes.fromhex(payload[2]))
            if marker == "$date":
                return datetime_from_ms(payload)
            if marker == "$float":
                return float(payload)
            if marker == "$int":
                return int(payload)
        return {k: from_file(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_file(v) for v in value]
    return value


def comparable(value):
    """A form assertEqual can compare: typed arrays as (dtype, bytes), N-D arrays (numpy's or
    NdArray) as (dtype, shape, bytes), NaN as a marker."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "<NaN>"
    if isinstance(value, array.array):
        return ("typed", value.itemsize, value.typecode in "fd", value.tobytes())
    if isinstance(value, NdArray):
        return ("ndarray", value.dtype, value.shape, value.data.tobytes())
    if type(value).__module__ == "numpy":
        if value.ndim != 1:
            return ("ndarray", value.dtype.name, value.shape, value.tobytes())
        return ("typed", value.dtype.itemsize, value.dtype.kind == "f", value.tobytes())
    return value


def unframe(hex_frame):
    data = bytes.fromhex(hex_frame)
    (n,) = struct.unpack(">I", data[:4])
    assert n == len(data) - 4, f"header says {n} bytes, frame carries {len(data) - 4}"
    return data[4:]


def load_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


class VectorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vectors = load_vectors()

    def test_file_covers_every_kind(self):
        kinds = {v["message"]["kind"] for v in self.vectors}
        # At least every kind this runtime speaks; the file may grow ahead of it.
        self.assertLessEqual({"hello", "welcome", "ready", "call", "cancel", "credit", "ping", "pong", "host_result",
                              "host_error", "shutdown", "result", "error", "chunk", "chunks", "end", "host_call", "log"}, kinds)

    def test_every_vector_travels_in_both_codecs(self):
        self.assertTrue(all(v["json"] and v["msgpack"] for v in self.vectors))
        names = {v["name"] for v in self.vectors}
        self.assertLessEqual({"value-bytes", "value-typed", "value-dates", "value-floats", "value-ints", "value-keys",
                              "value-proto-key", "value-tag-key", "value-sizes", "value-ndarray"}, names)

    def check(self, codec, field):
        for vector in self.vectors:
            with self.subTest(vector=vector["name"], codec=codec.name):
                message = from_file(vector["message"])
                payload = unframe(vector[field])
                decoded = codec.decode(payload)
                self.assertEqual(comparable(decoded), comparable(message))
                self.assertEqual(type(decoded), dict)
                # Where msgpackr and Python's msgpack pick different integer widths (section 5),
                # the entry carries Python's own form too: decode both, re-encode to ours.
                own = vector.get("msgpackPython") if codec.name == "msgpack" else None
                if own is not None:
                    self.assertEqual(comparable(codec.decode(unframe(own))), comparable(message))
                expected = own or vector[field]
                encoded = codec.encode(message)
                self.assertEqual((struct.pack(">I", len(encoded)) + encoded).hex(), expected)
                # What this side decoded, it sends back as it came.
                self.assertEqual(codec.encode(decoded), codec.encode(message))

    def test_json(self):
        self.check(JsonCodec(), "json")

    def test_doc_example_frame(self):
        payload = JsonCodec().encode({"kind": "ping", "id": 1})
        self.assertEqual((struct.pack(">I", len(payload)) + payload).hex(" "),
                         "00 00 00 16 7b 22 6b 69 6e 64 22 3a 22 70 69 6e 67 22 2c 22 69 64 22 3a 31 7d")


if __name__ == "__main__":
    unittest.main()
