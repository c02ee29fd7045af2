"""`python -m pyvisor_worker --describe --import MODULE`: every @handler and @program, as JSON.

The host (`pyvisor types`) turns this into a `.d.ts`; `--validate` checks calls against the same
signatures (checks.py). The modules are imported exactly as a worker imports them; what they
print while importing goes to stderr, so stdout holds the JSON alone.
"""
import inspect
import json
import sys
import typing

from .registry import REGISTRY, import_target
from .typenodes import ITERATORS, Types, doc_of, resolve_hints, union, unknown

# Parameter kinds as the host reads them: which call form (object, array) can pass each.
_KINDS = {inspect.Parameter.POSITIONAL_ONLY: "positional", inspect.Parameter.POSITIONAL_OR_KEYWORD: "both",
          inspect.Parameter.KEYWORD_ONLY: "keyword", inspect.Parameter.VAR_POSITIONAL: "varargs",
          inspect.Parameter.VAR_KEYWORD: "kwargs"}


def _yield_annotation(ret):
    """The item type of an Iterator[...]/Generator[...]/AsyncIterator[...] return annotation, or None."""
    if typing.get_origin(ret) not in ITERATORS:  # typing.Iterator[...]'s origin is collections.abc's too
        return None
    args = typing.get_args(ret)
    return args[0] if args else typing.Any


def signature(types, name, fn, wants_ctx):
    """One handler's record: params (each with kind, type node, optional), result, yields, doc."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        return {"name": name, "doc": doc_of(fn), "stream": False, "async": False, "params": None,
                "result": unknown(f"no signature: {exc}"), "yields": unknown("no signature")}
    hints = resolve_hints(fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn))
    params = list(sig.parameters.values())
    if wants_ctx and params:
        params = params[1:]
    out = []
    for p in params:
        ann = hints.get(p.name, p.annotation)
        node = {"t": "any"} if ann is inspect.Parameter.empty else types.node(ann)
        out.append({"name": p.name, "kind": _KINDS[p.kind], "type": node, "optional": p.default is not p.empty})
    ret = hints.get("return", sig.return_annotation)
    is_async_gen = inspect.isasyncgenfunction(fn)
    is_gen = inspect.isgeneratorfunction(fn) or is_async_gen
    item = None if ret is inspect.Signature.empty else _yield_annotation(ret)
    if is_gen or item is not None:
        yields = {"t": "any"} if item is None else types.node(item)
        result = {"t": "list", "of": yields}
    else:
        result = {"t": "any"} if ret is inspect.Signature.empty else types.node(ret)
        # A plain handler streamed sends its value as the one item, and nothing for None.
        yields = union([n for n in (result["of"] if result["t"] == "union" else [result]) if n["t"] != "none"] or [result])
    return {"name": name, "doc": doc_of(fn), "stream": bool(is_gen or item is not None),
            "async": bool(inspect.iscoroutinefunction(fn) or is_async_gen),
            "params": out, "result": result, "yields": yields}


def program_record(types, kind, factory):
    """A @program kind: its factory's `spec` parameter type (what `ctx.programs.create` stores)."""
    node = {"t": "any"}
    try:
        params = [p for p in inspect.signature(factory).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if params:
            target = factory.__init__ if inspect.isclass(factory) else factory
            hints = resolve_hints(target)
            ann = hints.get(params[0].name, params[0].annotation)
            if ann is not inspect.Parameter.empty:
                node = types.node(ann)
    except (TypeError, ValueError):
        pass
    return {"kind": kind, "doc": doc_of(factory), "spec": node}


def describe(imports):
    """The description of everything the imported modules registered."""
    for target in imports:
        import_target(target)
    types = Types()
    handlers = [signature(types, name, fn, wants_ctx) for name, (fn, wants_ctx) in sorted(REGISTRY.items())]
    programs = []
    if "pyvisor_worker.programs" in sys.modules:
        from .programs import PROGRAM_KINDS  # noqa: PLC0415

        programs = [program_record(types, kind, f) for kind, f in sorted(PROGRAM_KINDS.items())]
    return {"modules": list(imports), "handlers": handlers, "programs": programs,
            "types": [types.defs[k] for k in sorted(types.defs)]}


def main(imports):
    """Print the description as one JSON line; an import failure is a traceback and exit 1."""
    out = sys.stdout
    sys.stdout = sys.stderr  # the user's prints at import time must not corrupt the JSON
    try:
        result = describe(imports)
    except BaseException:  # noqa: BLE001 (SystemExit at import time is a failure too)
        import traceback  # noqa: PLC0415

        traceback.print_exc()
        return 1
    finally:
        sys.stdout = out
    out.write(json.dumps(result, ensure_ascii=False, allow_nan=False, default=repr) + "\n")
    out.flush()
    return 0
