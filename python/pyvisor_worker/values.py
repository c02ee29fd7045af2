"""The value model both codecs share (docs/protocol.md section 2.1), on the Python side.

What travels as what, identically in msgpack and JSON:

- dict keys: str; int, float, bool and None keys become strings as json.dumps writes them; any
  other key is refused. A dict with a ``__proto__`` key travels so the host keeps that key.
- int in [-2**63, 2**64); beyond, refused. float, NaN and infinities included.
- bytes, bytearray, memoryview: bytes (Buffer on the host).
- aware datetime: a Date (UTC, milliseconds on the host); naive datetime refused.
- 1-D numpy arrays and array.array of a typed-array dtype: the matching TypedArray. Coming from
  the host, typed arrays are numpy arrays when numpy imports, else array.array.
- numpy arrays of 0 or 2+ dimensions (any order or strides: their elements travel in C order) and
  NdArray: an NdArray on the host. Coming from the host, NdArrays are numpy arrays of their shape
  when numpy imports, else NdArray (this module's class, holding an array.array).
- set and frozenset: a list. numpy scalars: their Python value.

msgpack carries these natively or as extension types (typed arrays 0x74, N-D arrays 0x6E,
``__proto__`` maps 0x6F);
JSON as tagged objects ``{"__pyvisor__": [kind, ...]}`` (see JsonValues). Nothing here imports
numpy: an object can only be a numpy array if numpy is already loaded.
"""
import array
import binascii
import datetime
import math
import re
import struct
import sys

MAX_DEPTH = 500  # containers nested deeper (the message counts as one) are refused, as on the host
INT_MIN = -(1 << 63)
INT_LIMIT = 1 << 64
EXACT = 1 << 53  # JSON carries integers beyond +-2**53 as ["int", "digits"]
TAG = "__pyvisor__"
PROTO = "__proto__"
TYPED_EXT = 0x74
NDARRAY_EXT = 0x6E  # code, ndim, ndim uint32 little-endian dimensions, the elements little-endian in C order
OBJECT_EXT = 0x6F
MAX_NDIM = 32  # numpy 1's limit: the host refuses more, and so does this side

# Typed arrays by code (msgpackr's codes): name in JSON tags, numpy dtype, array.array typecodes.
TYPED_NAMES = ("int8", "uint8", "uint8clamped", "int16", "uint16", "int32", "uint32", "float32", "float64",
               "int64", "uint64")
_NUMPY_DTYPES = ("<i1", "<u1", "<u1", "<i2", "<u2", "<i4", "<u4", "<f4", "<f8", "<i8", "<u8")
_SIZES = (1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8)
_SIGNED_TYPECODES = "bhilq"
_FLOAT_TYPECODES = "fd"


def _typecode(code):
    """The array.array typecode holding the elements of typed-array `code` on this platform."""
    size = _SIZES[code]
    if code in (7, 8):
        return "f" if size == 4 else "d"
    signed = code in (0, 3, 5, 9)
    for tc in (_SIGNED_TYPECODES if signed else "BHILQ"):
        if array.array(tc).itemsize == size:
            return tc
    raise AssertionError(f"no array typecode of {size} bytes")


_TYPECODES = tuple(_typecode(code) for code in range(len(TYPED_NAMES)))
# array.array typecode -> code (uint8 for "B": a Uint8Array, not a Uint8ClampedArray).
_ARRAY_CODES = {}
for _code, _tc in enumerate(_TYPECODES):
    _ARRAY_CODES.setdefault(_tc, _code)
for _tc in "bBhHiIlLqQfd":
    if _tc not in _ARRAY_CODES:
        _size = array.array(_tc).itemsize
        for _code in range(len(TYPED_NAMES)):
            if _code != 2 and _SIZES[_code] == _size and (_tc in _FLOAT_TYPECODES) == (_code in (7, 8)) \
                    and (_tc in _SIGNED_TYPECODES) == (_code in (0, 3, 5, 9)):
                _ARRAY_CODES[_tc] = _code
                break
# numpy (dtype.kind, itemsize) -> code
_NUMPY_CODES = {("i", 1): 0, ("u", 1): 1, ("i", 2): 3, ("u", 2): 4, ("i", 4): 5, ("u", 4): 6, ("f", 4): 7,
                ("f", 8): 8, ("i", 8): 9, ("u", 8): 10}

_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


class Refused(TypeError):
    """Raised inside the helpers; the codec re-raises it as UnserializableError."""


def _numpy():
    return sys.modules.get("numpy")


_ND_CODES = {name: code for code, name in enumerate(TYPED_NAMES) if name != "uint8clamped"}


def _size(shape):
    size = 1
    for n in shape:
        size *= n
    return size


class NdArray:
    """An array of 0 or 2+ dimensions where numpy is not installed (docs/protocol.md section 2.1):
    `dtype` a name ("float64", "int32", "uint8"...), `shape` a tuple of ints, `data` a flat
    array.array of the elements in C order (the last index varies fastest). It arrives from the
    host's NdArray when numpy does not import (with numpy, a numpy array arrives instead), and can
    be sent with or without numpy: the host receives an NdArray (a typed array when 1-D).

        m = NdArray("float32", (2, 3), range(6))
        m.tolist()  # [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        m.data[1 * 3 + 2]  # element [1, 2]: 5.0

    `data` may be given as an array.array of the dtype's element type (kept, not copied) or any
    iterable of numbers. Raises ValueError for an unknown dtype, a shape of more than 32
    dimensions or negative lengths, or a data length that is not the shape's size.
    """

    __slots__ = ("dtype", "shape", "data")

    def __init__(self, dtype, shape, data):
        code = _ND_CODES.get(dtype)
        if code is None:
            raise ValueError(f"NdArray dtype {dtype!r} is not one of {', '.join(_ND_CODES)}")
        shape = tuple(shape)
        if len(shape) > MAX_NDIM or not all(type(n) is int and n >= 0 for n in shape):
            raise ValueError(f"NdArray shape {shape!r} must be at most {MAX_NDIM} non-negative ints")
        if type(data) is not array.array or _ARRAY_CODES.get(data.typecode) != code:
            data = array.array(_TYPECODES[code], data)
        if len(data) != _size(shape):
            raise ValueError(f"NdArray of shape {shape} needs {_size(shape)} elements, data has {len(data)}")
        self.dtype = dtype
        self.shape = shape
        self.data = data

    def tolist(self):
        """The elements as nested lists (a number for a 0-D array), as numpy's tolist gives them."""
        items = self.data.tolist()
        return _nest(items, self.shape) if self.shape else items[0]

    def __eq__(self, other):
        if not isinstance(other, NdArray):
            return NotImplemented
        return (self.dtype, self.shape, self.data) == (other.dtype, other.shape, other.data)

    __hash__ = None

    def __repr__(self):
        return f"NdArray({self.dtype!r}, {self.shape!r}, {self.data.tolist()!r:.200})"


def _nest(items, shape):
    """Flat `items` in C order as nested lists of `shape` (at least one dimension)."""
    if len(shape) == 1:
        return items
    step = len(items) // shape[0] if shape[0] else 0
    return [_nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _little_endian(data):
    """The bytes of array.array `data`, little-endian."""
    if sys.byteorder == "big" and data.itemsize > 1:
        data = array.array(data.typecode, data)
        data.byteswap()
    return data.tobytes()


def _wire_shape(shape):
    if len(shape) > MAX_NDIM:
        raise Refused(f"an array of {len(shape)} dimensions: at most {MAX_NDIM} travel")
    if any(n >= 1 << 32 for n in shape):
        raise Refused(f"an array of shape {shape}: dimensions of 2**32 or more do not travel")
    return tuple(shape)


def array_parts(obj):
    """(code, shape, little-endian bytes in C order) of an array that travels, None for other
    objects. `shape` is None for a typed array (1-D numpy array, array.array, 1-D NdArray), a tuple
    for an N-D one (numpy array or NdArray of 0 or 2+ dimensions). Raises Refused for a dtype
    with no typed-array equivalent."""
    kind = type(obj)
    if kind is array.array:
        code = _ARRAY_CODES.get(obj.typecode)
        if code is None:
            raise Refused(f"array.array of typecode {obj.typecode!r} has no typed-array equivalent")
        return code, None, _little_endian(obj)
    if kind is NdArray:
        code = _ND_CODES[obj.dtype]
        if type(obj.data) is not array.array or _ARRAY_CODES.get(obj.data.typecode) != code or len(obj.data) != _size(obj.shape):
            raise Refused(f"an NdArray of shape {obj.shape} and dtype {obj.dtype} whose data no longer fits: {obj.data!r:.60}")
        return code, None if len(obj.shape) == 1 else _wire_shape(obj.shape), _little_endian(obj.data)
    np = _numpy()
    if np is not None and isinstance(obj, np.ndarray):
        code = _NUMPY_CODES.get((obj.dtype.kind, obj.dtype.itemsize))
        if code is None:
            raise Refused(f"a numpy array of dtype {obj.dtype}, which has no typed-array equivalent")
        shape = None if obj.ndim == 1 else _wire_shape(obj.shape)
        return code, shape, obj.astype(_NUMPY_DTYPES[code], copy=False).tobytes()  # C order, whatever the strides
    return None


def is_array(obj):
    """True for what array_parts reads (without the cost of reading it)."""
    if type(obj) is array.array or type(obj) is NdArray:
        return True
    np = _numpy()
    return np is not None and isinstance(obj, np.ndarray)


def array_dtype(obj):
    """(dtype name, ndim) of an array value (numpy array, NdArray, array.array), None for other
    objects. An array.array's name is its typed array's ("int32"), else its typecode."""
    if isinstance(obj, NdArray):
        return obj.dtype, len(obj.shape)
    if isinstance(obj, array.array):
        code = _ARRAY_CODES.get(obj.typecode)
        return (obj.typecode if code is None else TYPED_NAMES[code]), 1
    np = _numpy()
    if np is not None and isinstance(obj, np.ndarray):
        return str(obj.dtype), obj.ndim
    return None


_numpy_for_typed = None


def _numpy_to_build():
    """numpy, imported at the first array that arrives (optional, and slow to import), or False."""
    global _numpy_for_typed
    if _numpy_for_typed is None:
        try:
            import numpy  # noqa: PLC0415
        except ImportError:
            numpy = False
        _numpy_for_typed = numpy
    return _numpy_for_typed


def typed_from(code, data):
    """The Python value of typed array `code` with little-endian bytes `data`."""
    if not 0 <= code < len(TYPED_NAMES) or len(data) % _SIZES[code]:
        raise ValueError(f"malformed typed array (code {code}, {len(data)} bytes)")
    np = _numpy_to_build()
    if np:
        return np.frombuffer(bytearray(data), dtype=_NUMPY_DTYPES[code])
    result = array.array(_TYPECODES[code])
    result.frombytes(data)
    if sys.byteorder == "big" and result.itemsize > 1:
        result.byteswap()
    return result


def ndarray_from(code, shape, data):
    """The Python value of an array of `shape` (a list or tuple of ints) with element code `code` and
    little-endian bytes `data`: a numpy array when numpy imports, else an NdArray (a typed array's
    value when 1-D). Raises ValueError when they do not fit together."""
    if code == 2 or not 0 <= code < len(TYPED_NAMES) or len(shape) > MAX_NDIM \
            or not all(type(n) is int and n >= 0 for n in shape) or len(data) != _size(shape) * _SIZES[code]:
        raise ValueError(f"malformed ndarray (code {code}, shape {shape!r:.100}, {len(data)} bytes)")
    if len(shape) == 1:
        return typed_from(code, data)
    np = _numpy_to_build()
    if np:
        return np.frombuffer(bytearray(data), dtype=_NUMPY_DTYPES[code]).reshape(shape)
    return NdArray(TYPED_NAMES[code], shape, typed_from(code, data))


_ND_HEADER = struct.Struct("<BB")


def ndarray_ext(code, shape, data):
    """The data of an NDARRAY_EXT."""
    return _ND_HEADER.pack(code, len(shape)) + struct.pack(f"<{len(shape)}I", *shape) + data


def ndarray_from_ext(data):
    if len(data) < 2:
        raise ValueError("malformed ndarray extension")
    code, ndim = _ND_HEADER.unpack_from(data)
    start = 2 + 4 * ndim
    if len(data) < start:
        raise ValueError("malformed ndarray extension")
    return ndarray_from(code, struct.unpack_from(f"<{ndim}I", data, 2), memoryview(data)[start:])


def numpy_scalar(obj):
    """The Python value of a numpy scalar (np.int64(3) -> 3), or None if obj is not one."""
    np = _numpy()
    if np is not None and isinstance(obj, np.generic):
        return obj.item()
    return None


def datetime_ms(dt):
    """Epoch milliseconds of an aware datetime, computed as the host computes them from a timestamp."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise Refused(f"a naive datetime ({dt.isoformat()}): attach a timezone (e.g. datetime.timezone.utc)")
    micros = (dt - _EPOCH) // _MICROSECOND
    seconds, micros = divmod(micros, 1_000_000)
    if micros % 1000 == 0:
        return seconds * 1000 + micros // 1000
    return micros * 1000 / 1e6 + seconds * 1000  # msgpackr: nanoseconds / 1e6 + seconds * 1000


def datetime_from_ms(ms):
    return _EPOCH + datetime.timedelta(milliseconds=ms)


def json_key(key):
    """A dict key as json.dumps writes it, or Refused."""
    kind = type(key)
    if kind is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        if math.isfinite(key):
            return float.__repr__(key)
        raise Refused(f"a dict key {key!r}: not a finite float")
    raise Refused(f"a dict key of type {kind.__name__} ({key!r:.60}): keys must be str, int, float, bool or None")


def _too_deep():
    raise Refused(f"nested more than {MAX_DEPTH} levels deep (or circular)")


def _check_int(value):
    if not INT_MIN <= value < INT_LIMIT:
        raise Refused(f"an int ({str(value)[:60]}) outside the 64-bit range [-2**63, 2**64)")
    return value


# --- msgpack ------------------------------------------------------------------------------------

# Types msgpack's Packer writes as they are (an int out of range it refuses itself): ready() and
# MsgpackCodec.encode_result pass them without a look.
SCALAR_TYPES = frozenset((str, int, float, bool, type(None), bytes))


def _clean(value, depth, _scalars=SCALAR_TYPES, _containers=(dict, list, tuple)):
    """True when msgpack's Packer may write value (a dict, list or tuple) as it is: str keys only, no
    `__proto__` key, no container subclass or ExtType (a namedtuple) anywhere inside."""
    if depth >= MAX_DEPTH:
        _too_deep()
    if type(value) is dict:
        if PROTO in value:
            return False
        for key in value:
            if type(key) is not str:
                return False
        items = value.values()
    else:
        items = value
    if len(items) > 16 and set(map(type, items)) <= _scalars:  # C speed for long flat lists
        return True
    for item in items:
        kind = type(item)
        if kind in _scalars:
            continue
        if kind is dict or kind is list or kind is tuple:
            if not _clean(item, depth + 1):
                return False
        elif isinstance(item, _containers):
            return False
    return True


class MsgpackValues:
    """Makes a value ready for msgpack's Packer: checks the dict keys (the Packer writes any key the
    host cannot read), and rewrites only the containers that need it (non-str keys, `__proto__` keys).

    `pack_inner(value)` packs and `unpack_inner(data)` unpacks a nested value (for OBJECT_EXT);
    `ext_type` is msgpack's ExtType.
    """

    def __init__(self, pack_inner, unpack_inner, ext_type):
        self.pack_inner = pack_inner
        self.unpack_inner = unpack_inner
        self.ExtType = ext_type

    def ready(self, value):
        """value, or a converted copy; raises Refused. Scalars and well-behaved containers are not copied."""
        kind = type(value)
        if kind is dict or kind is list or kind is tuple:
            if _clean(value, 0):
                return value
            return self._convert(value, 0)
        if kind in SCALAR_TYPES:
            return value
        return self._convert(value, 0)

    def _convert(self, value, depth):
        if depth >= MAX_DEPTH:
            _too_deep()
        kind = type(value)
        if kind in SCALAR_TYPES:
            return value
        if isinstance(value, self.ExtType):
            raise Refused("a msgpack ExtType, which the host cannot read")
        if isinstance(value, dict):
            if PROTO in value:
                flat = []
                for key, item in value.items():
                    flat.append(json_key(key))
                    flat.append(self._convert(item, depth + 1))
                return self.ExtType(OBJECT_EXT, self.pack_inner(flat))
            return {json_key(key): self._convert(item, depth + 1) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._convert(item, depth + 1) for item in value]
        return value  # for the Packer and its default hook

    def default(self, obj):
        """The Packer's hook for types it does not know (and for ints it could not fit in 64 bits)."""
        if isinstance(obj, int):
            _check_int(obj)
        parts = array_parts(obj)
        if parts is not None:
            code, shape, data = parts
            if shape is None:
                return self.ExtType(TYPED_EXT, bytes((code,)) + data)
            return self.ExtType(NDARRAY_EXT, ndarray_ext(code, shape, data))
        scalar = numpy_scalar(obj)
        if scalar is not None:
            return scalar
        if isinstance(obj, (set, frozenset)):
            return self._convert(list(obj), 1)
        if isinstance(obj, datetime.datetime):
            datetime_ms(obj)  # raises for a naive datetime (the Packer writes aware ones itself)
            return _EPOCH + (obj - _EPOCH)  # an aware subclass: as a plain datetime
        raise Refused(f"an object of type {type(obj).__name__}, which has no host equivalent")

    def ext_hook(self, code, data):
        if code == TYPED_EXT and data:
            return typed_from(data[0], data[1:])
        if code == NDARRAY_EXT:
            return ndarray_from_ext(data)
        if code == OBJECT_EXT:
            flat = self.unpack_inner(data)
            if type(flat) is not list or len(flat) % 2:
                raise ValueError("malformed object extension")
            return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
        raise ValueError(f"unknown msgpack extension type {code}")


# --- JSON ---------------------------------------------------------------------------------------

# An integer of 16 digits or more (beyond 2**53, or 64 bits) starts after one of these, once every
# digit is turned into 0 (a float's digits follow a '.', never these). A false alarm (such digits
# inside a string) only costs the slow path.
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")
_BIG_INT_MARKS = tuple(prefix + "0" * 16 for prefix in (":", ",", "[", ":-", ",-", "[-"))


class NeedsWalk(Exception):
    """The fast JSON encoder met a value that the walk must rewrite first."""


def _b64(data):
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _is_special(obj):
    return (isinstance(obj, (bytes, bytearray, memoryview, datetime.datetime, set, frozenset, array.array))
            or numpy_scalar(obj) is not None or is_array(obj))


def _depth_ok(text):
    """False when the JSON text nests more than MAX_DEPTH containers (brackets inside strings skipped)."""
    depth = 0
    for token in _BRACKETS.findall(text):
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif token in "]}":
            depth -= 1
    return True


_BRACKETS = re.compile(r'[\[\]{}]|"(?:[^"\\]|\\.)*"')


class JsonValues:
    """Tagged objects for JSON: ``{"__pyvisor__": [kind, ...]}`` with kind bytes, typed, ndarray, float,
    date, int or object (a dict that has a ``__pyvisor__`` key, as a flat [k1, v1, ...] list)."""

    @staticmethod
    def default(obj):
        """The fast encoder's hook: special types go to the walk, others are refused."""
        if _is_special(obj):
            raise NeedsWalk
        raise Refused(f"an object of type {type(obj).__name__}, which has no host equivalent")

    @staticmethod
    def suspect(text):
        """True when the fast encoder's text needs the walk: a tag or escape to check, an integer of
        16 digits or more, or enough brackets to be nested too deep (the C encoder has no limit)."""
        if '"__pyvisor__":' in text:
            return True
        if len(text) > 16 and "0" * 16 in text.translate(_DIGITS_TO_ZERO):  # far cheaper than a regex
            zeros = text.translate(_DIGITS_TO_ZERO)
            for mark in _BIG_INT_MARKS:
                if mark in zeros:
                    return True
        return len(text) >= 2 * MAX_DEPTH and text.count("[") + text.count("{") >= MAX_DEPTH and not _depth_ok(text)

    def ready(self, value, depth=0):
        """A copy of value with every special value tagged; raises Refused."""
        kind = type(value)
        if kind is str or kind is bool or value is None:
            return value
        if isinstance(value, int):
            if -EXACT <= value <= EXACT:
                return value
            return {TAG: ["int", int.__repr__(_check_int(value))]}
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {TAG: ["float", "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"]}
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list, tuple, set, frozenset)) and depth >= MAX_DEPTH:
            _too_deep()
        if isinstance(value, dict):
            if TAG in value:
                flat = []
                for key, item in value.items():
                    flat.append(json_key(key))
                    flat.append(self.ready(item, depth + 1))
                return {TAG: ["object", flat]}
            return {key: self.ready(item, depth + 1) for key, item in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.ready(item, depth + 1) for item in value]
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {TAG: ["bytes", _b64(value)]}
        if isinstance(value, datetime.datetime):
            return {TAG: ["date", datetime_ms(value)]}
        parts = array_parts(value)
        if parts is not None:
            code, shape, data = parts
            if shape is None:
                return {TAG: ["typed", TYPED_NAMES[code], _b64(data)]}
            return {TAG: ["ndarray", TYPED_NAMES[code], list(shape), _b64(data)]}
        scalar = numpy_scalar(value)
        if scalar is not None:
            return self.ready(scalar, depth)
        return value  # the encoder's default refuses it

    @staticmethod
    def untag(obj):
        """json's object_hook: a tagged object's value, other dicts as they are."""
        if TAG not in obj:
            return obj
        payload = obj[TAG]
        if len(obj) != 1 or type(payload) is not list or not payload:
            raise ValueError(f"malformed {TAG} tag")
        kind = payload[0]
        if kind == "bytes":
            return binascii.a2b_base64(payload[1])
        if kind == "typed":
            return typed_from(TYPED_NAMES.index(payload[1]), binascii.a2b_base64(payload[2]))
        if kind == "ndarray":
            if type(payload[2]) is not list:
                raise ValueError(f"malformed {TAG} tag: ndarray without a shape")
            return ndarray_from(TYPED_NAMES.index(payload[1]), payload[2], binascii.a2b_base64(payload[3]))
        if kind == "float":
            return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[payload[1]])
        if kind == "date":
            return datetime_from_ms(payload[1])
        if kind == "int":
            return int(payload[1])
        if kind == "object":
            flat = payload[1]
            return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
        raise ValueError(f"malformed {TAG} tag: unknown kind {kind!r}")
