"""Wire format of pyvisor protocol v1: frames and codecs (see docs/protocol.md).

Kept free of threads and handlers so the test vectors can exercise it in isolation, and so the
host-facing byte layout lives in exactly one place.
"""
import json
import os
import struct

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

_HEADER = struct.Struct(">I")
pack_header = _HEADER.pack
MAX_LEN = 0xFFFFFFFF


class ProtocolViolation(Exception):
    """The host sent something this worker cannot trust; the only safe answer is to exit (code 3)."""


class UnserializableError(TypeError):
    """A value the negotiated codec cannot carry (bytes/NaN in JSON, arbitrary objects, huge ints)."""

    pyvisor_type = "pyvisor.Unserializable"


# --- codecs -------------------------------------------------------------------------------------

def _json_functions():
    """Encoder/decoder entry points without json.dumps/loads' per-call setup (about 2x faster).

    Same C encoder json.dumps uses, with the protocol's settings: compact separators, UTF-8 kept,
    NaN/Infinity refused. Without the C accelerators, fall back to the public classes.
    """
    import json.encoder as je  # noqa: PLC0415
    import json.scanner as js  # noqa: PLC0415

    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    decoder = json.JSONDecoder()
    if je.c_make_encoder is None:
        encode = encoder.encode
    else:
        # markers=None: no cycle bookkeeping per call; a cycle ends as RecursionError instead.
        chunks = je.c_make_encoder(None, encoder.default, je.encode_basestring, None, ":", ",",
                                   False, False, False)

        def encode(obj):
            return "".join(chunks(obj, 0))
    scan = js.c_make_scanner(decoder) if js.c_make_scanner is not None else None

    def decode(text):
        if scan is not None:
            try:
                obj, end = scan(text, 0)
            except StopIteration:
                end = -1
            if end == len(text):
                return obj
        return decoder.decode(text)  # whitespace around the value, or a precise error message

    return encode, decode


class JsonCodec:
    """Compact UTF-8 JSON, byte-identical to JSON.stringify for the values both sides share."""

    name = "json"
    _encode, _decode = _json_functions()

    def encode(self, obj, _enc=_encode):
        try:
            return _enc(obj).encode("utf-8")
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise UnserializableError(str(exc)) from None

    def decode(self, payload, _dec=_decode):
        # Decode UTF-8 ourselves: json.loads(bytes) would also accept UTF-16/32, which the protocol forbids.
        return _dec(payload.decode("utf-8"))


class MsgpackCodec:
    """MessagePack 2.0 (str vs bin), the same settings the host's msgpackr uses with records off."""

    name = "msgpack"

    def __init__(self, msgpack):
        self._packb = msgpack.packb
        self._unpackb = msgpack.unpackb

    def encode(self, obj):
        try:
            return self._packb(obj, use_bin_type=True)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise UnserializableError(str(exc)) from None

    def decode(self, payload):
        return self._unpackb(payload, raw=False)


def load_msgpack():
    """The msgpack module, or None: it is optional and JSON always works."""
    try:
        import msgpack  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return None
    return msgpack


def available_codecs(env_value=None):
    """Codecs this worker offers, in preference order, restricted by PYVISOR_CODECS when set."""
    allowed = None
    if env_value:
        allowed = {part.strip() for part in env_value.split(",") if part.strip()}
    codecs = []
    if allowed is None or "msgpack" in allowed:
        msgpack = load_msgpack()
        if msgpack is not None:
            codecs.append(MsgpackCodec(msgpack))
    if allowed is None or "json" in allowed:
        codecs.append(JsonCodec())
    return codecs


# --- frames -------------------------------------------------------------------------------------

def frame(payload):
    """Header + payload as one buffer, so a small frame is one write and never interleaves."""
    return pack_header(len(payload)) + payload


def read_exact(fd, n):
    """Exactly n bytes from fd, or None on EOF. Used for the handshake, before the reader thread."""
    chunks = []
    while n:
        data = os.read(fd, n)
        if not data:
            return None
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


def read_frame(fd, max_frame_bytes):
    """One whole frame payload (unbuffered, so nothing past it is consumed), or None on EOF."""
    header = read_exact(fd, 4)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    check_length(length, max_frame_bytes)
    return read_exact(fd, length)


def check_length(length, max_frame_bytes):
    if length > max_frame_bytes:
        raise ProtocolViolation(f"frame of {length} bytes exceeds max-frame-bytes {max_frame_bytes}")
    if length == 0:
        raise ProtocolViolation("empty frame")


class FrameReader:
    """Buffered frame splitter for the reader thread: one os.read can yield many small frames.

    A frame larger than the read chunk is read straight into a buffer of its exact size, so big
    payloads are neither re-copied on every read nor over-allocated.
    """

    def __init__(self, fd, max_frame_bytes, chunk=65536):
        self.fd = fd
        self.max = max_frame_bytes
        self.chunk = chunk

    def frames(self):
        """Yield payloads (bytearray) until EOF, then return. Raises ProtocolViolation on a bad header."""
        fd, chunk, read, unpack_from = self.fd, self.chunk, os.read, _HEADER.unpack_from
        buf = bytearray()
        while True:
            data = read(fd, chunk)
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                (length,) = unpack_from(buf)
                check_length(length, self.max)  # before buffering any more of the payload
                end = 4 + length
                if len(buf) >= end:
                    payload = buf[4:end]
                    del buf[:end]
                    yield payload
                elif length > chunk:
                    payload = self._read_large(buf, length)
                    if payload is None:
                        return
                    buf = bytearray()
                    yield payload
                else:
                    break

    def _read_large(self, buf, length):
        payload = bytearray(length)
        view = memoryview(payload)
        have = len(buf) - 4
        view[:have] = buf[4:]
        while have < length:
            n = os.readv(self.fd, [view[have:]])
            if not n:
                return None
            have += n
        return payload
