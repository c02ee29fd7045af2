"""Worker -> host calls (`host_call` out, `host_result`/`host_error` back): ids and the waiting table.

The caller blocks on its own lock while whichever thread reads fd 3 completes it, so a host call
works from the main thread and from a handler's own threads alike, and a late answer (after a
timeout) finds nobody and is dropped rather than delivered to a later call.
"""
import threading

from .context import HostCallError, HostCallTimeout


class _Pending:
    __slots__ = ("lock", "ok", "value")

    def __init__(self):
        self.lock = threading.Lock()
        self.lock.acquire()
        self.ok = None
        self.value = None


class HostCalls:
    """An id counter plus the table of calls waiting for the host; `send` writes the host_call frame."""

    def __init__(self, send):
        self._send = send
        self._next = 0
        self._id_lock = threading.Lock()
        self._pending = {}

    def call(self, name, args, timeout, call=None):
        """`call` is the id of the host's call this one is made for: with several calls in flight
        on one worker, the host scopes the request (its session) by it."""
        if not isinstance(name, str):
            raise TypeError("host handler name must be a str")
        with self._id_lock:
            self._next = self._next + 1 if self._next < 0xFFFFFFFF else 1
            call_id = self._next
        pending = self._pending[call_id] = _Pending()
        try:
            message = {"kind": "host_call", "id": call_id, "name": name,
                       "args": {} if args is None else args}
            if call is not None:
                message["call"] = call
            self._send(message)
            if timeout is None:
                pending.lock.acquire()
            elif not pending.lock.acquire(timeout=max(0.0, timeout)):
                raise HostCallTimeout(f"host call {name!r} got no answer within {timeout} s")
        finally:
            self._pending.pop(call_id, None)
        if pending.ok:
            return pending.value
        raise HostCallError(*pending.value)

    def complete(self, call_id, ok, value):
        """Called by the thread reading fd 3. Returns False when nobody waits for call_id (late or unknown)."""
        pending = self._pending.pop(call_id, None)
        if pending is None:
            return False
        pending.ok = ok
        pending.value = value
        pending.lock.release()
        return True
