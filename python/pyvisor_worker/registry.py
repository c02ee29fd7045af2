"""@handler registration and loading of the user's modules.

Everything that can be decided once per handler (its name, whether it wants a Context) is decided
at import time here, so the per-call path only does a dict lookup.
"""
import importlib
import importlib.util
import os
import sys
from types import FunctionType

from .context import Context

# name -> (function, wants_ctx). Module-level: the user's module registers while being imported.
REGISTRY = {}


def _first_parameter(fn):
    """(name, annotation) of fn's first positional parameter, or None.

    Plain functions are read from __code__ (importing inspect costs ~4 ms of every worker start);
    other callables (partials, callable objects, builtins) go through inspect.signature.
    """
    if type(fn) is FunctionType:
        code = fn.__code__
        if code.co_argcount == 0:
            return None
        name = code.co_varnames[0]
        return name, (fn.__annotations__ or {}).get(name)
    import inspect  # noqa: PLC0415

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        return None
    return params[0].name, params[0].annotation


def _wants_context(fn):
    """True if the first parameter is named `ctx` or annotated Context (string annotations too)."""
    first = _first_parameter(fn)
    if first is None:
        return False
    name, ann = first
    if name == "ctx" or ann is Context:
        return True
    return isinstance(ann, str) and (ann == "Context" or ann.endswith(".Context"))


def _register(fn, name):
    if not callable(fn):
        raise TypeError(f"@handler needs a function, got {fn!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"handler name must be a non-empty str, got {name!r}")
    if name in REGISTRY:
        other = REGISTRY[name][0]
        raise ValueError(
            f"duplicate handler name {name!r}: {getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
            f" and {getattr(other, '__module__', '?')}.{getattr(other, '__qualname__', other)}")
    REGISTRY[name] = (fn, _wants_context(fn))
    return fn


def handler(arg=None):
    """Register a handler: `@handler`, `@handler()` or `@handler("name")`. Returns the function unchanged."""
    if callable(arg):
        return _register(arg, arg.__name__)
    if arg is not None and not isinstance(arg, str):
        raise TypeError("@handler takes a function or a name")

    def deco(fn):
        return _register(fn, arg if arg is not None else getattr(fn, "__name__", None))

    return deco


def handler_names():
    return sorted(REGISTRY)


def import_target(target):
    """Import a dotted module name (via sys.path) or a file path ending in .py."""
    if not target.endswith(".py"):
        return importlib.import_module(target)
    path = os.path.abspath(target)
    name = os.path.splitext(os.path.basename(path))[0]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such module file: {target}")
    # Like `python file.py`: siblings of the file are importable.
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec, so dataclasses/pickle can find it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
