"""Python annotations as small JSON type nodes: what `--describe` prints and `--validate` checks.

One mapping serves both, so the `.d.ts` the host writes and the worker's argument check can never
disagree. A node describes the value as it travels (docs/protocol.md section 2.1), not the Python
object: a dataclass or TypedDict parameter arrives as a dict, an Enum as its value, a tuple as a
list. Nodes: {"t": kind, ...} with kind one of int, float, str, bool, none, bytes, date, any,
unknown (with a "note"), list (of), tuple (items, rest), dict (of), union (of), literal (values),
object (fields), array (dtype, ndim), ref (name: a named type in `Types.defs`).

Written for Python 3.9: no `match`, no `X | Y` evaluated at run time by this module; `X | Y` in
the user's annotations is understood where the running Python has `types.UnionType` (3.10+), and
as a string (`from __future__ import annotations` on 3.9) by evaluating each side.
"""
import collections.abc
import dataclasses
import datetime
import enum
import re
import sys
import types
import typing

_UNION_TYPE = getattr(types, "UnionType", None)
_NONE = {"t": "none"}
_ANY = {"t": "any"}
_SCALARS = {int: {"t": "int"}, float: {"t": "float"}, str: {"t": "str"}, bool: {"t": "bool"},
            type(None): _NONE, bytes: {"t": "bytes"}, bytearray: {"t": "bytes"}, memoryview: {"t": "bytes"},
            datetime.datetime: {"t": "date"}, object: _ANY}
_LISTS = (list, set, frozenset, collections.abc.Sequence, collections.abc.MutableSequence,
          collections.abc.Set, collections.abc.MutableSet, collections.abc.Collection, collections.abc.Iterable)
_DICTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
# Iterator-like origins: a parameter of one travels as a list; a return annotation of one is a stream.
ITERATORS = (collections.abc.Iterator, collections.abc.Generator, collections.abc.Iterable,
              collections.abc.AsyncIterator, collections.abc.AsyncGenerator, collections.abc.AsyncIterable)
_WRAPPERS = frozenset(n for n in ("Required", "NotRequired", "ReadOnly", "Final", "ClassVar")
                      if hasattr(typing, n))
# numpy scalar type names that travel as typed arrays (docs/protocol.md: typed arrays).
DTYPES = frozenset(("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"))


def unknown(note):
    return {"t": "unknown", "note": note}


def _name_of(tp):
    return getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None) or repr(tp)


def _is_typeddict(tp):
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__annotations__")


def _is_namedtuple(tp):
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _is_pydantic(tp):
    # Duck-typed: no pydantic import, and any class exposing a JSON schema this way works.
    return isinstance(tp, type) and callable(getattr(tp, "model_json_schema", None))


def _wrapper_name(tp):
    origin = typing.get_origin(tp)
    for name in _WRAPPERS:
        if origin is getattr(typing, name) or tp is getattr(typing, name):
            return name
    return None


class Types:
    """Converts annotations to nodes; named types (dataclass, TypedDict, Enum, pydantic models,
    NamedTuple) are kept once each in `defs` and referenced by name."""

    def __init__(self):
        self.defs = {}  # name -> {"name", "doc", "type": node}
        self._names = {}  # id(class) -> name

    # --- annotations --------------------------------------------------------------------------

    def node(self, tp):
        """The node of one (already resolved) annotation; never raises."""
        try:
            return self._node(tp)
        except Exception as exc:  # noqa: BLE001 (an annotation we cannot read is unknown, never a crash)
            return unknown(f"{_describe(tp)}: {type(exc).__name__}: {exc}")

    def _node(self, tp):
        if tp is None:
            return _NONE
        if isinstance(tp, str):
            return unknown(f"unresolved annotation {tp!r}")
        if isinstance(tp, typing.ForwardRef):
            return unknown(f"unresolved annotation {tp.__forward_arg__!r}")
        if tp is typing.Any:
            return _ANY
        if type(tp) is type and tp in _SCALARS:
            return _SCALARS[tp]
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return self._node(args[0])
        if _wrapper_name(tp) is not None:
            return self._node(args[0]) if args else _ANY
        if origin is typing.Union or (_UNION_TYPE is not None and isinstance(tp, _UNION_TYPE)):
            return union([self._node(a) for a in args])
        if origin is typing.Literal:
            return {"t": "literal", "values": [_literal_value(a) for a in args]}
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"t": "tuple", "items": [], "rest": self._node(args[0])}
            if args == ((),):  # Tuple[()]
                return {"t": "tuple", "items": []}
            return {"t": "tuple", "items": [self._node(a) for a in args]}
        if origin in _DICTS:
            return {"t": "dict", "of": self._node(args[1]) if len(args) == 2 else _ANY}
        if origin in _LISTS or origin in ITERATORS:
            return {"t": "list", "of": self._node(args[0]) if args else _ANY}
        if tp in (list, set, frozenset, tuple):
            return {"t": "list", "of": _ANY}
        if tp is dict:
            return {"t": "dict", "of": _ANY}
        if isinstance(tp, typing.TypeVar):
            bound = tp.__bound__
            return self._node(bound) if bound is not None else _ANY
        supertype = getattr(tp, "__supertype__", None)  # NewType
        if supertype is not None:
            return self._node(supertype)
        array = self._numpy(tp, origin, args)
        if array is not None:
            return array
        if isinstance(tp, type):
            return self._class(tp)
        return unknown(f"unsupported annotation {_describe(tp)}")

    def _numpy(self, tp, origin, args):
        """numpy.ndarray / numpy.typing.NDArray[dtype] (shape from a tuple shape type if given)."""
        base = origin if origin is not None else tp
        if getattr(base, "__module__", "") != "numpy" or getattr(base, "__name__", "") != "ndarray":
            return None
        dtype = None
        ndim = None
        if len(args) == 2:
            shape, dt = args
            scalar = typing.get_args(dt)[0] if typing.get_args(dt) else None
            name = getattr(scalar, "__name__", None)
            if name in DTYPES:
                dtype = name
            elif scalar is not None and scalar is not typing.Any:
                return unknown(f"numpy arrays of {name} do not travel (docs/protocol.md: typed arrays)")
            if typing.get_origin(shape) is tuple:
                dims = typing.get_args(shape)
                if dims and Ellipsis not in dims:
                    ndim = len(dims)
        return {"t": "array", "dtype": dtype, "ndim": ndim}

    def _class(self, cls):
        if cls in _SCALARS:  # subclasses of the scalars are not: an IntEnum is handled as an Enum
            return _SCALARS[cls]
        if isinstance(cls, enum.EnumMeta):
            return self._named(cls, lambda: {"t": "literal", "values": [_literal_value(m.value) for m in cls]})
        if dataclasses.is_dataclass(cls):
            return self._named(cls, lambda: self._dataclass(cls))
        if _is_typeddict(cls):
            return self._named(cls, lambda: self._typeddict(cls))
        if _is_namedtuple(cls):
            return self._named(cls, lambda: self._namedtuple(cls))
        if _is_pydantic(cls):
            from .jsonschema import schema_node  # noqa: PLC0415 (only pydantic users need it)

            # Its own definition in `$defs` (a recursive model) is this named type: same name.
            return self._named(cls, lambda: schema_node(self, cls.model_json_schema(), self._names[id(cls)]))
        for base, node in _SCALARS.items():
            if base is not object and issubclass(cls, base):
                return node
        return unknown(f"class {cls.__module__}.{_name_of(cls)} has no wire form")

    def named(self, name, doc, build):
        """A reference to named type `name`, defined once by `build()` (recursion-safe)."""
        if name not in self.defs:
            self.defs[name] = {"name": name, "doc": doc, "type": unknown("being defined")}
            self.defs[name]["type"] = build()
        return {"t": "ref", "name": name}

    def _named(self, cls, build):
        key = id(cls)
        if key not in self._names:
            # The class's own name (not its qualname: `f.<locals>.X`), as a TypeScript identifier.
            base = re.sub(r"\W", "_", getattr(cls, "__name__", "") or "Type")
            if base[0].isdigit():
                base = "_" + base
            name = base
            n = 2
            while name in self.defs:
                name = f"{base}{n}"
                n += 1
            self._names[key] = name
        return self.named(self._names[key], doc_of(cls), build)

    def _dataclass(self, cls):
        hints = resolve_hints(cls)
        fields = []
        for f in dataclasses.fields(cls):
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            fields.append({"name": f.name, "type": self.node(hints.get(f.name, f.type)), "optional": has_default})
        return {"t": "object", "fields": fields}

    def _typeddict(self, cls):
        hints = resolve_hints(cls)
        optional = getattr(cls, "__optional_keys__", frozenset() if cls.__total__ else frozenset(hints))
        return {"t": "object", "fields": [{"name": k, "type": self.node(v), "optional": k in optional}
                                          for k, v in hints.items()]}

    def _namedtuple(self, cls):
        hints = resolve_hints(cls)
        return {"t": "tuple", "items": [self.node(hints.get(f, typing.Any)) for f in cls._fields]}


def union(nodes):
    """A union of nodes, flattened and without repeats; one node stands for itself."""
    out = []
    for n in nodes:
        for m in (n["of"] if n["t"] == "union" else [n]):
            if m not in out:
                out.append(m)
    return out[0] if len(out) == 1 else {"t": "union", "of": out}


def _literal_value(v):
    if isinstance(v, enum.Enum):
        v = v.value
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def _describe(tp):
    try:
        return repr(tp)
    except Exception:  # noqa: BLE001
        return type(tp).__name__


def doc_of(obj):
    """The cleaned docstring of obj, or None."""
    if isinstance(obj, type):
        doc = obj.__dict__.get("__doc__")
        # dataclass and namedtuple write "Name(field, ...)" when the class has no docstring.
        if isinstance(doc, str) and doc.startswith(f"{obj.__name__}("):
            return None
    else:
        doc = getattr(obj, "__doc__", None)
    if not isinstance(doc, str):
        return None
    import inspect  # noqa: PLC0415

    cleaned = inspect.cleandoc(doc)
    return cleaned or None


def _eval_annotation(text, globalns, localns):
    """A string annotation evaluated in its module; `A | B` is evaluated side by side so that
    `from __future__ import annotations` code reads on Python 3.9 too."""
    try:
        return eval(text, globalns, localns)  # noqa: S307 (the user's own annotation, in their module)
    except TypeError:
        parts = _split_top(text, "|")
        if len(parts) < 2:
            raise
        resolved = tuple(_eval_annotation(p, globalns, localns) for p in parts)
        return typing.Union[resolved]


def _split_top(text, sep):
    """text split on `sep` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def resolve_hints(obj):
    """Annotations of a function or class with strings resolved: `typing.get_type_hints` first,
    then, if it fails (a name it cannot see, `X | Y` on 3.9), each annotation on its own; one that
    still fails stays a string (later an `unknown` node)."""
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception:  # noqa: BLE001
        pass
    if isinstance(obj, type):
        raw = {}
        for base in reversed(obj.__mro__):
            raw.update(base.__dict__.get("__annotations__", {}))
        globalns = vars(sys.modules.get(obj.__module__, object())) if obj.__module__ in sys.modules else {}
        localns = dict(vars(obj))
    else:
        raw = dict(getattr(obj, "__annotations__", None) or {})
        globalns = getattr(obj, "__globals__", {})
        localns = None
    hints = {}
    for key, value in raw.items():
        try:
            hints[key] = _eval_annotation(value, globalns, localns) if isinstance(value, str) else value
        except Exception:  # noqa: BLE001
            hints[key] = value if isinstance(value, str) else _describe(value)
    return hints
