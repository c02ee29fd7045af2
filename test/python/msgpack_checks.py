"""Checks that need the msgpack package: run.sh runs them on /usr/bin/python3 (which must have
it) and never on the JSON-only interpreter, so nothing here is ever skipped. Not named test_*
so `unittest discover` leaves it to run.sh."""
import unittest

import harness
from harness import WorkerTest
from test_handshake import BASIC
import test_vectors
from pyvisor_worker import UnserializableError


class MsgpackCodecTest(unittest.TestCase):
    def test_msgpack_str_vs_bin(self):
        codec = harness.CODECS["msgpack"]
        self.assertEqual(codec.decode(codec.encode({"s": "x", "b": b"x"})), {"s": "x", "b": b"x"})
        self.assertEqual(codec.encode("x"), b"\xa1x")
        self.assertEqual(codec.encode(b"x"), b"\xc4\x01x")
        with self.assertRaises(UnserializableError):
            codec.encode(2 ** 70)


class MsgpackHandshakeTest(WorkerTest):
    def test_msgpack_codec(self):
        w = self.spawn(imports=["basic"], env={"PYVISOR_CODECS": "msgpack,json"}, codec="msgpack")
        self.assertEqual(w.hello["codecs"], ["msgpack", "json"])
        self.assertEqual(w.ready, {"kind": "ready", "status": "ok", "handlers": BASIC})
        self.assertEqual(w.call("echo", {"value": b"\x00\xff"})["value"], b"\x00\xff")


class MsgpackVectorsTest(unittest.TestCase):
    vectors = test_vectors.load_vectors()

    def test_msgpack_vectors(self):
        # The shared vectors, decoded and re-encoded with Python's msgpack (the JSON half runs everywhere).
        test_vectors.VectorsTest.check(self, harness.CODECS["msgpack"], "msgpack")


class MsgpackExtTypesTest(unittest.TestCase):
    def test_msgpack_refuses_ext_types_the_host_cannot_read(self):
        import msgpack  # noqa: PLC0415

        with self.assertRaises(UnserializableError):
            harness.CODECS["msgpack"].encode({"v": [msgpack.ExtType(5, b"x")]})
        self.assertIsNotNone(harness.CODECS["msgpack"].encode({"v": msgpack.Timestamp(1, 0)}))
