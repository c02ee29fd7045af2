"""Programs: objects built from a stored spec, so any worker of the pool can run them.

Why: a program built by one worker (a compiled predictor, a parsed config, a loaded model) used to
live in that process only, so the next call, routed to another worker, could not find it. Now the
spec, `{"kind", "spec"}`, is stored on the host under `program:<id>` in the caller's scope, and
each worker rebuilds the object from it on first use and keeps it, keyed by (session, id, version).
Every `get` asks the host for the spec's version (an `unchanged` answer carries no spec), so a
deleted or replaced program is noticed on the next call on every worker.

Built objects are shared between calls on purpose (building is what the cache saves); at most
`MAX_BUILT` (256) are kept per worker, least recently used first out.

Default timeouts: a program may carry one, `ctx.programs.create(kind, spec, timeout_ms=...)` (stored
with its spec, so every worker applies it) or, for every program of a kind without its own,
`@program("kind", timeout_ms=...)`. A call that gets such a program and has no deadline of its own
(no `timeoutMs`, no session default) gets one from `get`: the host arms it like a `timeoutMs`
(`pyvisor.deadline`; `CallTimeoutError` on the host, `cancel` here, the worker killed past
`cancelGraceMs`), and `ctx.deadline` / `ctx.time_left()` show it. A call that has a deadline keeps
it, longer or shorter: the caller's word wins. Of several programs in one call, the earliest end wins.
"""
import threading
from collections import OrderedDict
from time import monotonic

from .store import UNCHANGED, Store

MAX_BUILT = 256
KEY_PREFIX = "program:"

# kind -> factory(spec) -> object. Module-level: user modules register while being imported.
PROGRAM_KINDS = {}
# kind -> default timeout in ms of its programs (`@program(..., timeout_ms=)`); absent: none.
PROGRAM_TIMEOUTS = {}
DEADLINE = "pyvisor.deadline"
MAX_TIMEOUT_MS = 2**31 - 1  # the host's timers cap (MAX_TIMER_MS)

_lock = threading.Lock()
_built = OrderedDict()  # (session, program id) -> (version, object, default timeout ms or None)
_builds = [0]  # factory calls in this worker; read by tests through build_count()


class ProgramNotFound(KeyError):
    """No program with this id in the call's scope (never created, deleted, or its session expired)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownProgramKind(ValueError):
    """No `@program` factory is registered under this kind in this worker."""


for _cls in (ProgramNotFound, UnknownProgramKind):
    _cls.__module__ = "pyvisor_worker"


def _is_timeout(timeout_ms):
    return type(timeout_ms) is int and 1 <= timeout_ms <= MAX_TIMEOUT_MS


def _check_timeout(timeout_ms):
    if timeout_ms is not None and not _is_timeout(timeout_ms):
        raise ValueError(f"timeout_ms must be an int from 1 to {MAX_TIMEOUT_MS} (ms), or None, got {timeout_ms!r}")
    return timeout_ms


def _register(factory, kind, timeout_ms=None):
    if not callable(factory):
        raise TypeError(f"@program needs a callable factory(spec), got {factory!r}")
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"program kind must be a non-empty str, got {kind!r}")
    if kind in PROGRAM_KINDS:
        raise ValueError(f"duplicate program kind {kind!r}: {getattr(factory, '__qualname__', factory)} and "
                         f"{getattr(PROGRAM_KINDS[kind], '__qualname__', PROGRAM_KINDS[kind])}")
    PROGRAM_KINDS[kind] = factory
    if timeout_ms is not None:
        PROGRAM_TIMEOUTS[kind] = timeout_ms
    return factory


def program(arg=None, *, timeout_ms=None):
    """Register factory(spec) -> object: `@program("kind")`, or bare `@program` (kind = its name).

    A class works as a factory. Returns the factory unchanged. `timeout_ms` (an int of ms) is the
    default timeout of the kind's programs created without one of their own: a call that runs such
    a program with no `timeoutMs` of its own times out after it (see the module's docstring).

        @program("predict", timeout_ms=30_000)
        class Predict: ...
    """
    _check_timeout(timeout_ms)
    if callable(arg):
        return _register(arg, getattr(arg, "__name__", None), timeout_ms)
    if arg is not None and not isinstance(arg, str):
        raise TypeError("@program takes a kind name or a factory")

    def deco(factory):
        return _register(factory, arg if arg is not None else getattr(factory, "__name__", None), timeout_ms)

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


def _remember(ck, version, obj, timeout_ms):
    with _lock:
        _built.pop(ck, None)
        _built[ck] = (version, obj, timeout_ms)
        while len(_built) > MAX_BUILT:
            _built.popitem(last=False)


def _bound(ctx, timeout_ms):
    """Give the running call the program's default deadline, unless it has a deadline of its own."""
    if timeout_ms is None:
        return
    deadline = ctx.deadline
    if deadline is not None and (not ctx._program_deadline or monotonic() + timeout_ms / 1000 >= deadline):
        return
    start = monotonic()  # Python's deadline ends no later than the host's, which counts from later
    left = ctx.call_host(DEADLINE, {"ms": timeout_ms})
    if left is not None:
        ctx.deadline = start + left / 1000
        ctx._program_deadline = True


def _check_id(program_id):
    if not isinstance(program_id, str) or not program_id:
        raise TypeError(f"program ids are non-empty str, not {program_id!r}")


class Programs:
    """`ctx.programs`: create, fetch and delete programs in the running call's store scope."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx):
        self._ctx = ctx

    def create(self, kind, spec=None, *, timeout_ms=None):
        """Build a `kind` program from spec, store the spec, return the new id ("prog_" + 32 hex).

        The program is built here first, so an unknown kind or a spec its factory rejects fails
        before anything is stored; this worker then keeps the object it built. `timeout_ms` (an
        int of ms) is stored with the spec: the default timeout of calls that run the program
        (it replaces the kind's, `@program(timeout_ms=...)`). Creating does not start it.
        """
        import uuid  # noqa: PLC0415 (only programs pay its import)

        _check_timeout(timeout_ms)
        factory = _factory(kind)
        ctx = self._ctx
        codec = ctx._link.codec
        # Build from the spec as every other worker will see it (decoded from the wire), so this
        # worker's object cannot differ from theirs; also refuses an unserializable spec early.
        obj = _build(factory, codec.decode(codec.encode(spec)))
        program_id = "prog_" + uuid.uuid4().hex
        record = {"kind": kind, "spec": spec}
        if timeout_ms is not None:
            record["timeout_ms"] = timeout_ms
        version = Store(ctx).put(KEY_PREFIX + program_id, record)
        _remember((ctx.session, program_id), version, obj, PROGRAM_TIMEOUTS.get(kind) if timeout_ms is None else timeout_ms)
        return program_id

    def get(self, program_id):
        """The built program; built at most once per worker for each stored version of the spec.

        Raises ProgramNotFound when no such program exists in this call's scope. A program with a
        default timeout gives a call without a deadline one, from now (see the module's docstring).
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
            _bound(ctx, held[2])
            return held[1]
        if type(record) is not dict or "kind" not in record:
            raise TypeError(f"store key {KEY_PREFIX + program_id!r} does not hold a program spec")
        obj = _build(_factory(record["kind"]), record.get("spec"))
        # A stored value is not trusted to be valid: a bad one is ignored, as an absent one.
        stored = record.get("timeout_ms")
        timeout_ms = stored if _is_timeout(stored) else PROGRAM_TIMEOUTS.get(record["kind"])
        _remember(ck, version, obj, timeout_ms)
        _bound(ctx, timeout_ms)
        return obj

    def delete(self, program_id):
        """Delete the program; True if it existed. Other workers notice on their next get."""
        _check_id(program_id)
        ctx = self._ctx
        with _lock:
            _built.pop((ctx.session, program_id), None)
        return Store(ctx).delete(KEY_PREFIX + program_id)
