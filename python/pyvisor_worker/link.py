"""The Context's line to the runtime: the only four things a running call may ask of it.

Why a separate, narrow object: a Context outlives its call (a handler may keep it, hand it to a
thread) and is reached by user code, so it must not hold the runtime with its queue, its reader
and its locks. Everything it can do goes through here, which also lets tests give a Context a
recording link instead of a process. One Link serves every call of the worker, so a call still
costs a single allocation (its Context).
"""


class Link:
    """send(msg) writes one frame to the host (raises UnserializableError before writing anything);
    call_host(name, args, timeout) blocks for a host handler's answer; is_open(ctx) is False once
    ctx's call has been answered; `codec` is the negotiated codec (the store keeps values encoded
    with it); `guard` is the worker's cancel.Guard (None where nothing raises Cancelled)."""

    __slots__ = ("send", "call_host", "guard", "_writer", "_active")

    def __init__(self, writer, host_calls, active, guard=None):
        # Bound methods, not wrappers: a chunk or a log costs no extra call on its way out.
        self.send = writer.send
        self.call_host = host_calls.call
        self._writer = writer  # its codec changes once, after the handshake
        self._active = active  # call id -> Context of the calls not answered yet
        # cancel.Guard or None: a Context pauses it around runtime code its handler calls, so a
        # Cancelled raised in the handler never lands inside a frame being written.
        self.guard = guard

    @property
    def codec(self):
        return self._writer.codec

    def is_open(self, ctx):
        return self._active.get(ctx.id) is ctx
