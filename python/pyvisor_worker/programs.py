"""Programs: objects built from a stored spec, so any worker of the pool can run them.

Why: a program built by one worker (a compiled predictor, a parsed config, a loaded model) used to
live in that process only, so the next call, routed to another worker, could not find it. Now the
spec, `{"kind", "spec"}`, is stored on the host under `program:<id>` in the caller's scope, and
each worker rebuilds the object from it on first use and keeps it, keyed by (session, id, version).
Every `get` asks the host for the spec's version (an `unchanged` answer carries no spec), so a
deleted or replaced program is noticed on the next call on every worker.

Built objects are shared between calls on purpose (building is what the cache saves); at most
`MAX_BUILT` (256) are kept per worker, least recently used first out.
"""
import threading
from collections import OrderedDict

from .store import UNCHANGED, Store

MAX_BUILT = 256
KEY_PREFIX = "program:"

# kind -> factory(spec) -> object. Module-level: user modules register while being imported.
PROGRAM_KINDS = {}

_lock = threading.Lock()
_built = OrderedDict()  # (session, program id) -> (version, object)
_builds = [0]  # factory calls in this worker; read by tests through build_count()


class ProgramNotFound(KeyError):
    """No program with this id in the call's scope (never created, deleted, or its session expired)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownProgramKind(ValueError):
    """No `@program` factory is registered under this kind in this worker."""


for _cls in (ProgramNotFound, UnknownProgramKind):
    _cls.__module__ = "pyvisor_worker"


def _register(factory, kind):
    if not callable(factory):
        raise TypeError(f"@program needs a callable factory(spec), got {factory!r}")
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"program kind must be a non-empty str, got {kind!r}")
    if kind in PROGRAM_KINDS:
        raise ValueError(f"duplicate program kind {kind!r}: {getattr(factory, '__qualname__', factory)} and "
                         f"{getattr(PROGRAM_KINDS[kind], '__qualname__', PROGRAM_KINDS[kind])}")
    PROGRAM_KINDS[kind] = factory
    return factory


def program(arg=None):
    """Register factory(spec) -> object: `@program("kind")`, or bare `@program` (kind = its name).

    A class works as a factory. Returns the factory unchanged.
    """
    if callable(arg):
        return _register(arg, getattr(arg, "__name__", None))
    if arg is not None and not isinstance(arg, str):
        raise TypeError("@program takes a kind name or a factory")

    def deco(factory):
        return _register(factory, arg if arg is not None else getattr(factory, "__name__", None))

    return deco


def program_kinds():
    return sorted(PROGRAM_KINDS)


def build_count():
    """How many programs this worker has built (factory calls), for tests and diagnostics."""
    return _builds[0]


def _factory(kind):
    factory = PROGRAM_KINDS.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise UnknownProgramKind(f"no program kind {kind!r} in this worker; registered: "
                                 f"{', '.join(program_kinds()) or '(none)'}")
    return factory


def _build(factory, spec):
    obj = factory(spec)
    with _lock:
        _builds[0] += 1
    return obj


def _remember(ck, version, obj):
    with _lock:
        _built.pop(ck, None)
        _built[ck] = (version, obj)
        while len(_built) > MAX_BUILT:
            _built.popitem(last=False)


def _check_id(program_id):
    if not isinstance(program_id, str) or not program_id:
        raise TypeError(f"program ids are non-empty str, not {program_id!r}")


class Programs:
    """`ctx.programs`: create, fetch and delete programs in the running call's store scope."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx):
        self._ctx = ctx

    def create(self, kind, spec=None):
        """Build a `kind` program from spec, store the spec, return the new id ("prog_" + 32 hex).

        The program is built here first, so an unknown kind or a spec its factory rejects fails
        before anything is stored; this worker then keeps the object it built.
        """
        import uuid  # noqa: PLC0415 (only programs pay its import)

        factory = _factory(kind)
        ctx = self._ctx
        codec = ctx._link.codec
        # Build from the spec as every other worker will see it (decoded from the wire), so this
        # worker's object cannot differ from theirs; also refuses an unserializable spec early.
        obj = _build(factory, codec.decode(codec.encode(spec)))
        program_id = "prog_" + uuid.uuid4().hex
        version = Store(ctx).put(KEY_PREFIX + program_id, {"kind": kind, "spec": spec})
        _remember((ctx.session, program_id), version, obj)
        return program_id

    def get(self, program_id):
        """The built program; built at most once per worker for each stored version of the spec.

        Raises ProgramNotFound when no such program exists in this call's scope.
        """
        _check_id(program_id)
        ctx = self._ctx
        ck = (ctx.session, program_id)
        with _lock:
            held = _built.get(ck)
            if held is not None:
                _built.move_to_end(ck)
        got = Store(ctx)._get(KEY_PREFIX + program_id, None if held is None else held[0])
        if got is None:
            with _lock:
                _built.pop(ck, None)
            scope = "the global scope" if ctx.session is None else f"session {ctx.session!r}"
            raise ProgramNotFound(f"no program {program_id!r} in {scope}")
        version, record = got
        if record is UNCHANGED:
            return held[1]
        if type(record) is not dict or "kind" not in record:
            raise TypeError(f"store key {KEY_PREFIX + program_id!r} does not hold a program spec")
        obj = _build(_factory(record["kind"]), record.get("spec"))
        _remember(ck, version, obj)
        return obj

    def delete(self, program_id):
        """Delete the program; True if it existed. Other workers notice on their next get."""
        _check_id(program_id)
        ctx = self._ctx
        with _lock:
            _built.pop((ctx.session, program_id), None)
        return Store(ctx).delete(KEY_PREFIX + program_id)
