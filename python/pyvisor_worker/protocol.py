"""Wire format of pyvisor protocol v1: frames and codecs (see docs/protocol.md).

Kept free of threads and handlers so the test vectors can exercise it in isolation, and so the
host-facing byte layout lives in exactly one place.
"""
import json
import json.encoder
import os
import struct
import threading

from .values import EXACT, SCALAR_TYPES, JsonValues, MsgpackValues, NeedsWalk

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

_HEADER = struct.Struct(">I")
pack_header = _HEADER.pack
MAX_LEN = 0xFFFFFFFF


class ProtocolViolation(Exception):
    """The host sent something this worker cannot trust; the only safe answer is to exit (code 3)."""


class UnserializableError(TypeError):
    """A value the codecs cannot carry (arbitrary objects, ints beyond 64 bits, tuple keys, lone surrogates...)."""

    pyvisor_type = "pyvisor.Unserializable"


# --- codecs -------------------------------------------------------------------------------------

def _json_functions(default):
    """Encoder/decoder entry points without json.dumps/loads' per-call setup (about 2x faster).

    Same C encoder json.dumps uses, with the protocol's settings: compact separators, UTF-8 kept,
    NaN/Infinity refused (they travel tagged), `default` for other types. Without the C
    accelerators, fall back to the public classes.
    """
    import json.encoder as je  # noqa: PLC0415
    import json.scanner as js  # noqa: PLC0415

    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=default)
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
    """Compact UTF-8 JSON, byte-identical to the host's for the values both sides share.

    Values JSON lacks travel as tagged objects (values.JsonValues). Encoding tries the C encoder
    first; only a value holding something to tag, or text that may (a 16-digit integer, a
    `"__pyvisor__":` key), goes through the Python walk. Decoding uses an object_hook only when
    the text holds a tag.
    """

    name = "json"
    _values = JsonValues()
    _encode, _decode = _json_functions(JsonValues.default)
    _decode_tagged = json.JSONDecoder(object_hook=JsonValues.untag).decode

    def encode(self, obj, _enc=_encode, _suspect=JsonValues.suspect):
        try:
            try:
                text = _enc(obj)
                if _suspect(text):
                    text = _enc(self._values.ready(obj))
            except (NeedsWalk, ValueError):  # something to tag, or a NaN
                text = _enc(self._values.ready(obj))
            return text.encode("utf-8")
        # TypeError includes values.Refused; ValueError, UnicodeEncodeError (a lone surrogate).
        except (TypeError, ValueError, OverflowError, RecursionError, NeedsWalk) as exc:
            raise UnserializableError(str(exc) or type(exc).__name__) from None

    def encode_result(self, call_id, value, _quote=json.encoder.encode_basestring):
        """The `result` frame of call_id: what encode() would give. A scalar value is written
        directly (no encoder setup, no scan of the text for things to tag: a scalar within
        +-2**53 has none); anything else, or what may be refused, takes encode()."""
        kind = type(value)
        if type(call_id) is not int:
            text = None
        elif value is None:
            text = "null"
        elif kind is bool:
            text = "true" if value else "false"
        elif kind is int and -EXACT <= value <= EXACT:
            text = int.__repr__(value)
        elif kind is str:
            text = _quote(value)
        else:
            text = None
        if text is not None:
            try:
                return f'{{"kind":"result","id":{call_id},"value":{text}}}'.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: refused by encode(), below, with its message
                pass
        return self.encode({"kind": "result", "id": call_id, "value": value})

    def decode(self, payload, _dec=_decode):
        # Decode UTF-8 ourselves: json.loads(bytes) would also accept UTF-16/32, which the protocol forbids.
        text = payload.decode("utf-8")
        if '"__pyvisor__":' in text:
            return self._decode_tagged(text)
        return _dec(text)

    # What the reader of fd 3 calls (MsgpackCodec has a faster one): decode itself, not a wrapper
    # adding a Python call to every frame.
    decode_frame = decode


class MsgpackCodec:
    """MessagePack 2.0 (str vs bin); the host writes and reads the same forms (docs/protocol.md)."""

    name = "msgpack"
    _KEEP_PACKER_BELOW = 1 << 20  # a packer keeps its buffer: drop it after a message this big

    def __init__(self, msgpack):
        self._msgpack = msgpack
        self._values = MsgpackValues(self._pack_inner, self._unpack_inner, msgpack.ExtType)
        self._unpackb = msgpack.unpackb
        # One reusable Packer per thread (packb builds a new one per message, about 2x slower).
        self._local = threading.local()
        self._frames = None  # decode_frame's Unpacker, made on first use
        self._fed = 0  # bytes fed to it, which its tell() must match after each message

    def _packer(self):
        return self._msgpack.Packer(use_bin_type=True, datetime=True, default=self._values.default)

    def _pack_inner(self, value):
        return self._packer().pack(value)

    def _unpack_inner(self, data):
        return self._unpackb(data, raw=False, timestamp=3, ext_hook=self._values.ext_hook)

    def encode(self, obj):
        return self._pack(obj, self._values.ready)

    def encode_result(self, call_id, value, _scalars=SCALAR_TYPES):
        """The `result` frame of call_id: what encode() would give. With a scalar value nothing
        needs checking (the envelope's keys are ours; the Packer refuses an int it cannot write)."""
        if type(value) not in _scalars:
            return self.encode({"kind": "result", "id": call_id, "value": value})
        return self._pack({"kind": "result", "id": call_id, "value": value}, None)

    def _pack(self, obj, ready):
        """obj packed, after ready(obj) unless ready is None; whatever fails is UnserializableError."""
        local = self._local
        try:
            packer = local.packer
        except AttributeError:
            packer = local.packer = self._packer()
        try:
            data = packer.pack(obj if ready is None else ready(obj))  # autoreset: returns bytes and empties the buffer, also on error
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise UnserializableError(str(exc)) from None
        if len(data) >= self._KEEP_PACKER_BELOW:
            del local.packer
        return data

    def decode(self, payload):
        return self._unpackb(payload, raw=False, timestamp=3, ext_hook=self._values.ext_hook)

    _FRAME_UNPACKER_BELOW = 65536  # feed() copies: larger payloads are decoded in place by unpackb

    def decode_frame(self, payload):
        """decode() for the frames read from fd 3, which one thread at a time decodes (the holder
        of the read lock, fd3.py): a small one goes through a persistent Unpacker, which skips
        unpackb's per-call setup (about half the cost of a small message). Same results and
        errors as decode(): exactly one object, else the payload is refused."""
        n = len(payload)
        if n >= self._FRAME_UNPACKER_BELOW:
            return self.decode(payload)
        unpacker = self._frames
        if unpacker is None:
            unpacker = self._frames = self._msgpack.Unpacker(raw=False, timestamp=3, ext_hook=self._values.ext_hook)
            self._fed = 0
        fed = self._fed = self._fed + n
        unpacker.feed(payload)
        try:
            msg = unpacker.unpack()
        except BaseException:
            self._frames = None  # it may hold the rest of a bad payload
            raise
        if unpacker.tell() != fed:
            self._frames = None
            raise ValueError(f"extra data after the message in a {n}-byte payload")
        return msg


def load_msgpack():
    """The msgpack module (1.0 or later: timestamps as datetime), or None: it is optional and JSON always works."""
    try:
        import msgpack  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return None
    if getattr(msgpack, "version", (0,)) < (1, 0):
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
    """Buffered frame splitter for fd 3: one os.read can bring many small frames.

    `fill()` reads once, `pop()` takes the next complete payload; fd3.py calls them from
    whichever thread currently owns fd 3 (under its read lock), `frames()` strings them together.
    A frame larger than the read chunk is read straight into a buffer of its exact size, so big
    payloads are neither re-copied on every read nor over-allocated.
    """

    def __init__(self, fd, max_frame_bytes, chunk=65536):
        self.fd = fd
        self.max = max_frame_bytes
        self.chunk = chunk
        self._buf = b""  # bytes read and not yet returned start at self._pos
        self._pos = 0
        self.eof = False

    def fill(self):
        """Read once from fd (blocking) into the buffer. False at EOF, where `eof` is set too."""
        data = os.read(self.fd, self.chunk)
        if not data:
            self.eof = True
            return False
        if self._pos == len(self._buf):
            self._buf = data  # the common case: nothing left over, keep the bytes as they came
        else:
            self._buf = self._buf[self._pos:] + data
        self._pos = 0
        return True

    def pop(self, _unpack_from=_HEADER.unpack_from):
        """The next complete payload, or None. Raises ProtocolViolation on a bad header.

        A frame larger than the chunk is completed here with blocking reads; None with `eof` set
        if the stream ends inside it.
        """
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have < 4:
            return None
        (length,) = _unpack_from(buf, pos)
        check_length(length, self.max)  # before buffering any more of the payload
        if have >= 4 + length:
            self._pos = end = pos + 4 + length
            return buf[pos + 4:end]
        if length <= self.chunk:
            return None
        payload = self._read_large(memoryview(buf)[pos + 4:], length)
        self._buf = b""
        self._pos = 0
        return payload

    def frames(self):
        """Yield payloads until EOF, then return. Raises ProtocolViolation on a bad header."""
        fill, pop = self.fill, self.pop
        while fill():
            payload = pop()
            while payload is not None:
                yield payload
                payload = pop()
            if self.eof:
                return

    def _read_large(self, head, length):
        payload = bytearray(length)
        view = memoryview(payload)
        have = len(head)
        view[:have] = head
        while have < length:
            n = os.readv(self.fd, [view[have:]])
            if not n:
                self.eof = True
                return None
            have += n
        return payload
