"""The running worker: its parts wired together, and how it serves calls until it stops.

The parts, each in its own module: the locked frame writer to fd 4 (writer.py), who reads fd 3
and when (fd3.py), what each incoming frame does (dispatch.py), running a handler and answering
it (invoke.py), the worker -> host call table (host_calls.py) and the narrow line a Context gets
to all of this (link.py). What stays here is the lifecycle, because it touches all of them: the
main loop, SIGTERM and `shutdown` (finish the running call, refuse the queued ones), and what
an end of reading means for the exit code.
"""
import collections
import os
import signal

from .dispatch import STOP, Dispatcher
from .fd3 import Fd3
from .host_calls import HostCalls
from .invoke import Invoker
from .link import Link
from .protocol import FrameReader, ProtocolViolation
from .writer import FrameWriter, flush_and_exit


class Runtime:
    """One worker process: created before the handshake, served after the user's imports."""

    def __init__(self, in_fd, out_fd, codec, max_frame_bytes):
        self.max_frame_bytes = max_frame_bytes
        self.writer = FrameWriter(out_fd, codec)
        self.calls = collections.deque()  # calls (and STOP) read but not started yet, in stream order
        self.active = {}  # call id -> Context of every queued or running call
        self.host_calls = HostCalls(self._send_host_call)
        link = Link(self.writer, self.host_calls, self.active)
        self.dispatcher = Dispatcher(self.writer, link, self.calls, self.active, self.host_calls)
        self.fd3 = Fd3(in_fd, FrameReader(in_fd, max_frame_bytes), self.dispatcher.dispatch, self._reading_ended)
        self.invoker = Invoker(self.writer, self.active)
        self.current = None  # the Context being run by the main thread; None = idle
        self.stopping = False

    def _send_host_call(self, msg):
        # The caller is about to block for the answer: someone must read fd 3 from now on.
        self.fd3.cover_now()
        self.writer.send(msg)

    def start_reader(self):
        """From here on, pings are answered even while the user's modules import."""
        return self.fd3.start_helper()

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
        if self.current is None:
            flush_and_exit(0)
        self.stopping = True  # serve() exits after the running call has answered

    def serve(self):
        """Run calls one at a time until SIGTERM/shutdown or EOF. Never returns."""
        take, calls, run, fd3 = self.fd3.take, self.calls, self.invoker.run, self.fd3
        while True:
            self.current = None
            if self.stopping:
                self._drain_and_exit()
            try:
                ctx = take(calls)
            except BaseException as exc:  # noqa: BLE001
                self._reading_ended(exc, "main thread reading fd 3")
            self.current = ctx
            if ctx is STOP:
                self.stopping = True
                continue
            if ctx.stream:
                fd3.cover_now()  # it may wait for credit: read fd 3 from the start
            run(ctx)

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
