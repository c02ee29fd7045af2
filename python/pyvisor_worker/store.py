"""`ctx.store`: the host's key/value store, seen from a handler, with a per-worker version cache.

Why a cache: workers of a pool are separate processes, so state that must outlive one call (a
session's data, a compiled program's spec) lives on the host and is reached through `host_call`.
Every `get` still asks the host (so a worker never serves a value another worker replaced), but
it sends the version it already holds and the host answers `unchanged` instead of re-sending the
value. The scope (the call's session, or global) is chosen by the host from the running call,
never from anything Python sends; the cache is keyed the same way, by (ctx.session, key).

Cached values are kept *encoded* with the negotiated codec (except immutable scalars), so each hit
decodes a private copy: a handler may mutate what `get` returned without corrupting the cache, a
copy costs one C-speed decode rather than a `copy.deepcopy`, and the byte budget is exact. Values
put by this worker are cached as the host will hand them out (tuples become lists, JSON map keys
become strings), so a hit never differs from a fresh fetch.

Bounds: at most `max_entries` (1 024) entries and `max_bytes` (64 MiB) of cached payload, least
recently used first out; one value over `max_bytes // 4` is never cached, so a single huge value
cannot flush everything else. Adjust with `CACHE.configure(...)`.
"""
import threading
from collections import OrderedDict

GET = "pyvisor.store.get"
PUT = "pyvisor.store.put"
DELETE = "pyvisor.store.delete"
LIST = "pyvisor.store.list"

# Returned by Store._get when the caller's own version is current (see programs.py).
UNCHANGED = object()
# Top-level types that cannot be mutated in place: cached and returned as the same object.
_IMMUTABLE = frozenset((str, bytes, int, float, bool, type(None)))


class _Cache:
    """LRU of (session, key) -> (version, immutable value or encoded blob, is_blob, size).

    A lock, although handlers run on the main thread: a handler may hand ctx to its own threads.
    Entries are immutable tuples, so one read outside the lock is safe.
    """

    def __init__(self, max_entries=1024, max_bytes=64 * 1024 * 1024):
        self._lock = threading.Lock()
        self._entries = OrderedDict()
        self._bytes = 0
        self.configure(max_entries, max_bytes)

    def configure(self, max_entries=None, max_bytes=None):
        with self._lock:
            if max_entries is not None:
                self.max_entries = max(0, int(max_entries))
            if max_bytes is not None:
                self.max_bytes = max(0, int(max_bytes))
            self._shrink()

    def get(self, ck):
        with self._lock:
            entry = self._entries.get(ck)
            if entry is not None:
                self._entries.move_to_end(ck)
            return entry

    def put(self, ck, version, value, codec, blob=None):
        """Remember value (or its already encoded blob) at version. Encodes before returning: the
        caller may hand `value` to a handler right after, and the cache must not share it."""
        if type(value) in _IMMUTABLE:
            entry = (version, value, False, len(value) if type(value) in (str, bytes) else 8)
        else:
            if blob is None:
                blob = codec.encode(value)
            entry = (version, blob, True, len(blob))
        with self._lock:
            self._drop(ck)
            if entry[3] > self.max_bytes // 4 or self.max_entries == 0:
                return None
            self._entries[ck] = entry
            self._bytes += entry[3]
            self._shrink()
        return entry

    def evict(self, ck):
        with self._lock:
            self._drop(ck)

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self):
        return len(self._entries)

    @property
    def size_bytes(self):
        return self._bytes

    def _drop(self, ck):
        old = self._entries.pop(ck, None)
        if old is not None:
            self._bytes -= old[3]

    def _shrink(self):
        entries = self._entries
        while entries and (len(entries) > self.max_entries or self._bytes > self.max_bytes):
            self._bytes -= entries.popitem(last=False)[1][3]


# One per worker process (one process runs one Runtime), shared by every call it serves.
CACHE = _Cache()


def _value_of(entry, codec):
    """A private copy of a cached value (immutable scalars are shared: nothing to protect)."""
    return codec.decode(entry[1]) if entry[2] else entry[1]


def _check_key(key):
    # Other key rules (length, characters) are the host's: it answers pyvisor.InvalidKeyError.
    if not isinstance(key, str):
        raise TypeError(f"store keys are str, not {type(key).__name__}")


def _version(name, reply):
    """The reply's version as an int. A float is accepted when integral: a JS host may encode a
    large counter as a float64."""
    version = reply.get("version") if type(reply) is dict else None
    if type(version) is float and version.is_integer():
        return int(version)
    if type(version) is not int:
        raise _bad_reply(name, reply)
    return version


def _bad_reply(name, reply):
    return RuntimeError(f"host handler {name} answered {reply!r}, which is not its documented reply")


class Store:
    """The running call's store scope. Cheap to create; the cache behind it is per worker.

    Host failures raise HostCallError with the host's `.type` (for example
    `pyvisor.SessionExpiredError`, `pyvisor.ValueTooLargeError`, `pyvisor.InvalidKeyError`).
    """

    __slots__ = ("_ctx",)

    def __init__(self, ctx):
        self._ctx = ctx

    def __repr__(self):
        return f"<Store session={self._ctx.session!r}>"

    def get(self, key, default=None):
        """The value under key, or default if there is none. The result is the caller's own copy."""
        got = self._get(key)
        return default if got is None else got[1]

    def put(self, key, value):
        """Store value under key; returns its new version (an int that grows with every write)."""
        _check_key(key)
        ctx = self._ctx
        ck = (ctx.session, key)
        codec = ctx._link.codec
        # Encoded now, before the handler can mutate value after put returns; this also refuses
        # an unserializable value before anything reaches the host.
        blob = None if type(value) in _IMMUTABLE else codec.encode(value)
        CACHE.evict(ck)  # a failed or timed-out put leaves the host's version unknown
        reply = ctx.call_host(PUT, {"key": key, "value": value})
        version = _version(PUT, reply)
        # The blob is what every worker will decode (tuples as lists, JSON map keys as strings).
        CACHE.put(ck, version, value, codec, blob)
        return version

    def delete(self, key):
        """Remove key; True if it existed."""
        _check_key(key)
        ctx = self._ctx
        CACHE.evict((ctx.session, key))
        return bool(ctx.call_host(DELETE, {"key": key}))

    def keys(self, prefix=""):
        """Sorted keys of this scope that start with prefix."""
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        reply = self._ctx.call_host(LIST, {"prefix": prefix} if prefix else {})
        if type(reply) is not list:
            raise _bad_reply(LIST, reply)
        return reply

    def _get(self, key, have=None):
        """(version, value) or None when missing. If the caller passes `have`, a version it holds
        itself (programs keep built objects, not values), and it is current: (version, UNCHANGED)."""
        _check_key(key)
        ctx = self._ctx
        ck = (ctx.session, key)
        codec = ctx._link.codec
        entry = CACHE.get(ck)
        args = {"key": key}
        if have is not None:
            args["version"] = have
        elif entry is not None:
            args["version"] = entry[0]
        reply = ctx.call_host(GET, args)
        if reply is None:
            CACHE.evict(ck)
            return None
        version = _version(GET, reply)
        if reply.get("unchanged") is True:
            if have is not None and version == have:
                return version, UNCHANGED
            if entry is not None and version == entry[0]:
                return version, _value_of(entry, codec)
            # Unchanged for a version we no longer hold (another thread evicted it): ask in full.
            reply = ctx.call_host(GET, {"key": key})
            if reply is None:
                CACHE.evict(ck)
                return None
            version = _version(GET, reply)
            if "value" not in reply:
                raise _bad_reply(GET, reply)
        elif "value" not in reply:
            raise _bad_reply(GET, reply)
        value = reply["value"]
        CACHE.put(ck, version, value, codec)
        return version, value
