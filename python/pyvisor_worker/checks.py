"""`--validate`: each call's arguments checked against its handler's signature before it runs.

`install()` wraps every registered handler once, after the user's modules are imported; without
`--validate` nothing here is imported and calls pay nothing. A handler's checker is built on its
first call (from the same type nodes `--describe` prints) and kept. A mismatch raises
`InvalidArguments`, answered as an `error` of type `pyvisor.InvalidArguments` with the fields
`parameter` and `expected` (the host's `InvalidArgumentsError`).
"""
import datetime
import functools

from .registry import REGISTRY
from .typenodes import Types
from .values import array_dtype


class InvalidArguments(TypeError):
    """The arguments of a call do not fit its handler's signature."""

    pyvisor_type = "pyvisor.InvalidArguments"

    def __init__(self, message, parameter, expected):
        super().__init__(message)
        self.pyvisor_detail = {"parameter": parameter, "expected": expected}


_SPELLED = {"int": "int", "float": "float", "str": "str", "bool": "bool", "bytes": "bytes", "none": "None",
            "date": "datetime", "any": "Any", "unknown": "Any"}


def spell(node, defs):
    """A node in Python's spelling, as the user annotated it (for messages)."""
    t = node["t"]
    if t in _SPELLED:
        return _SPELLED[t]
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


_SCALAR_KINDS = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,), "none": (type(None),)}


def compile_check(node, defs, cache=None):
    """A function value -> None when value fits node, else why not ("" when the value itself is
    wrong, else a phrase naming the inner path). Built once per handler: a call only runs closures.
    `cache` holds the functions of named types (shared, so recursive types terminate)."""
    cache = {} if cache is None else cache
    t = node["t"]
    if t in ("any", "unknown"):
        return lambda value: None
    if t in _SCALAR_KINDS:
        kinds = _SCALAR_KINDS[t]  # exact types: a bool is no int, a str subclass (an Enum member) no str
        return lambda value: None if type(value) in kinds else ""
    if t == "bytes":
        return lambda value: None if isinstance(value, (bytes, bytearray, memoryview)) else ""
    if t == "date":
        return lambda value: None if isinstance(value, datetime.datetime) else ""
    if t == "literal":
        allowed = [(type(v), v) for v in node["values"]]
        return lambda value: None if (type(value), value) in allowed else ""
    if t == "union":
        options = [compile_check(n, defs, cache) for n in node["of"]]
        return lambda value: None if any(f(value) is None for f in options) else ""
    if t == "ref":
        name = node["name"]
        if name not in cache:
            cache[name] = None  # being compiled: a recursive use looks it up at call time
            cache[name] = compile_check(defs[name]["type"], defs, cache)
        return lambda value: cache[name](value)
    if t in ("list", "dict"):
        item = compile_check(node["of"], defs, cache)
        spelled = spell(node["of"], defs)
        if t == "list":
            return lambda value: "" if type(value) is not list else _first(enumerate(value), item, spelled, "item {}")
        return lambda value: "" if type(value) is not dict else _first(value.items(), item, spelled, "key {!r}")
    if t == "tuple":
        return _tuple_check(node, defs, cache)
    if t == "object":
        return _object_check(node, defs, cache)
    if t == "array":
        return lambda value: _array_mismatch(node, value)
    return lambda value: None


def mismatch(node, value, defs):
    """None when value fits node, else why not (see compile_check)."""
    return compile_check(node, defs)(value)


def _why(where, spelled, value, inner):
    return f"{where} should be {spelled}, got {_got(value)}" + (f" ({inner})" if inner else "")


def _first(pairs, check, spelled, where):
    for key, value in pairs:
        inner = check(value)
        if inner is not None:
            return _why(where.format(key), spelled, value, inner)
    return None


def _tuple_check(node, defs, cache):
    items = [(compile_check(n, defs, cache), spell(n, defs)) for n in node["items"]]
    rest = (compile_check(node["rest"], defs, cache), spell(node["rest"], defs)) if "rest" in node else None

    def check(value):
        if type(value) is not list or len(value) < len(items) or (rest is None and len(value) > len(items)):
            return ""
        for i, item in enumerate(value):
            fn, spelled = items[i] if i < len(items) else rest
            inner = fn(item)
            if inner is not None:
                return _why(f"item {i}", spelled, item, inner)
        return None

    return check


def _object_check(node, defs, cache):
    fields = [(f["name"], f["optional"], compile_check(f["type"], defs, cache), spell(f["type"], defs)) for f in node["fields"]]

    def check(value):
        if type(value) is not dict:
            return ""
        for name, optional, fn, spelled in fields:
            if name in value:
                inner = fn(value[name])
                if inner is not None:
                    return _why(f"key {name!r}", spelled, value[name], inner)
            elif not optional:
                return f"key {name!r} is missing"
        return None

    return check


def _array_mismatch(node, value):
    found = array_dtype(value)
    if found is None:
        return ""
    dtype, ndim = found
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
        cache = {}
        params = [dict(p, check=compile_check(p["type"], defs, cache)) for p in record["params"] or []]
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
                self._value(p["name"], p, value)
                seen.add(p["name"])
            elif self.varargs is not None:
                self._value(f"*{self.varargs['name']}", self.varargs, value)
            else:
                self._fail(f"takes {len(self.positional)} positional arguments but {len(args)} were given",
                           f"*[{len(self.positional)}]", "nothing")
        for key, value in kwargs.items():
            p = self.by_name.get(key)
            if p is not None:
                self._value(key, p, value)
                seen.add(key)
            elif self.kwargs is not None:
                self._value(key, self.kwargs, value)
            else:
                known = ", ".join(sorted(self.by_name)) or "(none)"
                self._fail(f"has no parameter {key!r} (parameters: {known})", key, "nothing")
        for p in self.required:
            if p["name"] not in seen:
                expected = spell(p["type"], self.defs)
                self._fail(f"parameter {p['name']!r} ({expected}) is missing", p["name"], expected)

    def _value(self, name, param, value):
        why = param["check"](value)
        if why is not None:
            expected = spell(param["type"], self.defs)
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
