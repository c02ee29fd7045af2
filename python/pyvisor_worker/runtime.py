"""The running worker: its parts wired together, and how it serves calls until it stops.

The parts, each in its own module: the locked frame writer to fd 4 (writer.py), who reads fd 3
and when (fd3.py), what each incoming frame does (dispatch.py), when each queued call starts
(schedule.py), running a handler and answering it (invoke.py), the worker -> host call table
(host_calls.py) and the narrow line a Context gets to all of this (link.py). What stays here is
the lifecycle, because it touches all of them: SIGTERM and `shutdown` (finish the started calls,
refuse the queued ones), and what an end of reading means for the exit code.

Concurrency (`--concurrency N`, default 1): an `async def` handler's calls may run up to N at
once as tasks on the worker's one persistent event loop; sync handlers, generators and streams run
one at a time on the main thread, each counting as one of the N while it runs. The host may send
calls before earlier ones are answered (pipelining), and relies on this contract:

(a) calls that arrive while others run are queued, in arrival order;
(b) calls start strictly in arrival order: call k+1 never starts before call k;
(c) at most N calls are started and unanswered at any moment;
(d) a call's final frame (`result`, `end` or `error`) is written before a call that waited for
    its slot starts.

So once a worker has crashed and the host has read all of fd 4, of the calls still unanswered, in
send order, at most the first N may have started and the rest certainly did not: the host may run
those elsewhere. A `cancel` for a call still queued removes it and answers it (`end` for a stream,
else `error` of type `pyvisor.Cancelled`) without its handler ever running; a `cancel` for a
started call sets ctx.cancelled and cancels its asyncio task, if it has one, or raises
`Cancelled` in its sync handler's frame (cancel.py). schedule.py says how
the queue, the slot count and the tasks make this hold.
"""
import collections
import os
import signal

from .cancel import Guard
from .dispatch import STOP, Dispatcher
from .fd3 import Fd3
from .host_calls import HostCalls
from .invoke import Invoker
from .link import Link
from .protocol import FrameReader, ProtocolViolation
from .schedule import Scheduler
from .writer import FrameWriter, flush_and_exit

# The signals install_signals handles; a fork-server's user imports may install their own (zygote.py).
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Runtime:
    """One worker process: created before the handshake, served after the user's imports."""

    def __init__(self, in_fd, out_fd, codec, max_frame_bytes, concurrency=1):
        self.writer = FrameWriter(out_fd, codec, max_frame_bytes)
        self.calls = collections.deque()  # calls (and STOP) read but not started yet, in stream order
        self.active = {}  # call id -> Context of every queued or running call
        self.host_calls = HostCalls(self._send_host_call)
        guard = Guard()
        if not guard.available:
            guard = None
        self.invoker = Invoker(self.writer, self.active, background=concurrency > 1, max_frame_bytes=max_frame_bytes,
                               guard=guard)
        self.scheduler = Scheduler(self.calls, self.invoker, concurrency, self._take_failed, None)
        link = Link(self.writer, self.host_calls, self.active, guard)
        self.dispatcher = Dispatcher(self.writer, link, self.calls, self.active, self.host_calls,
                                     self.invoker.cancel_queued, self.scheduler.queued if concurrency > 1 else None,
                                     guard.interrupt if guard is not None else None)
        self.fd3 = Fd3(in_fd, FrameReader(in_fd, max_frame_bytes), self.dispatcher.dispatch, self._reading_ended)
        self.scheduler.cover = self.fd3.cover_now
        self.scheduler.idle = True  # until serve(): SIGTERM during the imports exits at once

    def _send_host_call(self, msg):
        # The caller is about to block for the answer: someone must read fd 3 from now on.
        self.fd3.cover_now()
        self.writer.send(msg)

    def start_reader(self):
        """From here on, pings are answered even while the user's modules import."""
        return self.fd3.start_helper()

    def _take_failed(self, exc):
        self._reading_ended(exc, "main thread reading fd 3")

    def _reading_ended(self, exc, who):
        """Reading fd 3 stopped: EOF (the host is gone) exits 0, corruption exits 3. Never returns."""
        if isinstance(exc, (EOFError, ConnectionResetError)):
            # EOF; fd 3 may be a socket (libuv's stdio pipes are socketpairs): reset = host gone too
            os._exit(0)
        if isinstance(exc, ProtocolViolation):
            self.writer.fatal(f"protocol violation: {exc}")
        self.writer.fatal(f"{who} failed: {type(exc).__name__}: {exc}")

    # --- main thread ------------------------------------------------------------------------

    def install_signals(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host decides when we stop
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame):
        if self.scheduler.idle:
            flush_and_exit(0)
        self.scheduler.stopping = True  # serve() exits once the started calls have answered

    def serve(self):
        """Run calls until SIGTERM/shutdown or EOF. Never returns."""
        self.scheduler.serve(self.fd3.take)
        self._drain_and_exit()

    def _drain_and_exit(self):
        try:
            self.fd3.read_waiting()  # calls already sent are refused, not lost
        except Exception:  # noqa: BLE001 (EOF or corruption: answer what was read, then exit anyway)
            pass
        calls = self.calls
        while calls:
            ctx = calls.popleft()
            if ctx is not STOP:
                self.invoker.fail(ctx, "pyvisor.ShuttingDown", "the worker is shutting down", "")
        flush_and_exit(0)
