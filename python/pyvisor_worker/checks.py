"""`--validate`: each call's arguments checked against its handler's signature before it runs.

`install()` wraps every registered handler once, after the user's modules are imported; without
`--validate` nothing here is imported and calls pay nothing. A handler's checker is built on its
first call (from the same type nodes `--describe` prints) and kept. A mismatch raises
`InvalidArguments`, answered as an `error` of type `pyvisor.InvalidArguments` with the fields
`parameter` and `expected` (the host's `InvalidArgumentsError`).
"""
import datetime
import functools
import sys

from .registry import REGISTRY
from .typenodes import Types


class InvalidArguments(TypeError):
    """The arguments of a call do not fit its handler's signature."""

    pyvisor_type = "pyvisor.InvalidArguments"

    def __init__(self, message, parameter, expected):
        super().__init__(message)
        self.pyvisor_detail = {"parameter": parameter, "expected": expected}


def spell(node, defs):
    """A node in Python's spelling, as the user annotated it (for messages)."""
    t = node["t"]
    if t in ("int", "float", "str", "bool", "bytes"):
        return t
    simple = {"none": "None", "date": "datetime", "any": "Any"}
    if t in simple:
        return simple[t]
    if t == "unknown":
        return "Any"
    if t == "list":
        return f"list[{spell(node['of'], defs)}]"
    if t == "dict":
        return f"dict[str, {spell(node['of'], defs)}]"
    if t == "tuple":
        items = [spell(n, defs) for n in node["items"]]
        if "rest" in node:
            items.append(spell(node["rest"], defs) + ", ...")
        return f"tuple[{', '.join(items) or '()'}]"
    if t == "union":
        return " | ".join(spell(n, defs) for n in node["of"])
    if t == "literal":
        return f"Literal[{', '.join(repr(v) for v in node['values'])}]"
    if t == "ref":
        return node["name"]
    if t == "object":
        return "{" + ", ".join(f["name"] + ("?" if f["optional"] else "") + ": " + spell(f["type"], defs)
                               for f in node["fields"]) + "}"
    if t == "array":
        return f"ndarray[{node['dtype'] or 'Any'}]"
    return t


def _got(value):
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def mismatch(node, value, defs):
    """None when value fits node, else why not (a short phrase naming the inner path, if any)."""
    t = node["t"]
    kind = type(value)
    if t in ("any", "unknown"):
        return None
    if t == "int":
        return None if kind is int else ""
    if t == "float":
        return None if kind is float or kind is int else ""
    if t == "str":
        return None if kind is str else ""
    if t == "bool":
        return None if kind is bool else ""
    if t == "none":
        return None if value is None else ""
    if t == "bytes":
        return None if isinstance(value, (bytes, bytearray, memoryview)) else ""
    if t == "date":
        return None if isinstance(value, datetime.datetime) else ""
    if t == "literal":
        return None if any(type(v) is kind and v == value for v in node["values"]) else ""
    if t == "union":
        return None if any(mismatch(n, value, defs) is None for n in node["of"]) else ""
    if t == "ref":
        return mismatch(defs[node["name"]]["type"], value, defs)
    if t == "list":
        if kind is not list:
            return ""
        return _first(((f"item {i}", node["of"], v) for i, v in enumerate(value)), defs)
    if t == "tuple":
        items = node["items"]
        if kind is not list or len(value) < len(items) or ("rest" not in node and len(value) > len(items)):
            return ""
        pairs = [(f"item {i}", items[i] if i < len(items) else node["rest"], v) for i, v in enumerate(value)]
        return _first(pairs, defs)
    if t == "dict":
        if kind is not dict:
            return ""
        return _first(((f"key {k!r}", node["of"], v) for k, v in value.items()), defs)
    if t == "object":
        if kind is not dict:
            return ""
        for f in node["fields"]:
            if f["name"] not in value and not f["optional"]:
                return f"key {f['name']!r} is missing"
        return _first(((f"key {f['name']!r}", f["type"], value[f["name"]]) for f in node["fields"] if f["name"] in value), defs)
    if t == "array":
        return _array_mismatch(node, value)
    return None


def _first(triples, defs):
    for where, node, value in triples:
        why = mismatch(node, value, defs)
        if why is not None:
            inner = f" ({why})" if why else ""
            return f"{where} should be {spell(node, defs)}, got {_got(value)}{inner}"
    return None


def _array_mismatch(node, value):
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        dtype, ndim = str(value.dtype), value.ndim
    else:
        from .values import NdArray  # noqa: PLC0415
        import array  # noqa: PLC0415

        if isinstance(value, NdArray):
            dtype, ndim = value.dtype, len(value.shape)
        elif isinstance(value, array.array):
            from .values import _ARRAY_CODES, TYPED_NAMES  # noqa: PLC0415

            code = _ARRAY_CODES.get(value.typecode)
            dtype, ndim = (TYPED_NAMES[code] if code is not None else value.typecode), 1
        else:
            return ""
    if node["dtype"] is not None and dtype != node["dtype"]:
        return f"dtype {dtype}"
    if node["ndim"] is not None and ndim != node["ndim"]:
        return f"{ndim} dimensions"
    return None


class _Checker:
    """One handler's parameters, bound the way Python binds them."""

    def __init__(self, name, record, defs):
        self.name = name
        self.defs = defs
        params = record["params"] or []
        self.positional = [p for p in params if p["kind"] in ("positional", "both")]
        self.by_name = {p["name"]: p for p in params if p["kind"] in ("both", "keyword")}
        self.varargs = next((p for p in params if p["kind"] == "varargs"), None)
        self.kwargs = next((p for p in params if p["kind"] == "kwargs"), None)
        self.required = [p for p in params if p["kind"] in ("positional", "both", "keyword") and not p["optional"]]

    def check(self, args, kwargs):
        seen = set()
        for i, value in enumerate(args):
            if i < len(self.positional):
                p = self.positional[i]
                self._value(p["name"], p["type"], value)
                seen.add(p["name"])
            elif self.varargs is not None:
                self._value(f"*{self.varargs['name']}", self.varargs["type"], value)
            else:
                self._fail(f"takes {len(self.positional)} positional arguments but {len(args)} were given",
                           f"*[{len(self.positional)}]", "nothing")
        for key, value in kwargs.items():
            p = self.by_name.get(key)
            if p is not None:
                self._value(key, p["type"], value)
                seen.add(key)
            elif self.kwargs is not None:
                self._value(key, self.kwargs["type"], value)
            else:
                known = ", ".join(sorted(self.by_name)) or "(none)"
                self._fail(f"has no parameter {key!r} (parameters: {known})", key, "nothing")
        for p in self.required:
            if p["name"] not in seen:
                expected = spell(p["type"], self.defs)
                self._fail(f"parameter {p['name']!r} ({expected}) is missing", p["name"], expected)

    def _value(self, name, node, value):
        why = mismatch(node, value, self.defs)
        if why is not None:
            expected = spell(node, self.defs)
            inner = f": {why}" if why else ""
            self._fail(f"parameter {name!r} expects {expected}, got {_got(value)}{inner}", name, expected)

    def _fail(self, what, parameter, expected):
        raise InvalidArguments(f"invalid arguments for {self.name!r}: {what}", parameter, expected)


def _wrap(name, fn, wants_ctx):
    checker = []

    def checked(*args, **kwargs):
        if not checker:
            from .describe import signature  # noqa: PLC0415

            types = Types()
            record = signature(types, name, fn, wants_ctx)
            checker.append(_Checker(name, record, types.defs))
        checker[0].check(args[1:] if wants_ctx else args, kwargs)
        return fn(*args, **kwargs)

    return functools.wraps(fn)(checked)


def install():
    """Wrap every registered handler with its argument check (its registered name, ctx and all, unchanged)."""
    for name, (fn, wants_ctx) in list(REGISTRY.items()):
        REGISTRY[name] = (_wrap(name, fn, wants_ctx), wants_ctx)
