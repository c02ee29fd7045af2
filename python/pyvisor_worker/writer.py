"""The single, locked way out to the host (fd 4), plus the ways this process ends.

Both threads write (results from the main thread, pongs and fatal logs from the reader), so every
frame goes out under one lock as header+payload in one write call: frames never interleave.
"""
import errno
import os
import sys
import threading

from .protocol import MAX_LEN, UnserializableError, pack_header

_SMALL = 65536
# Write errors meaning the host end is closed (EPIPE on a pipe; a socketpair may also reset).
_GONE = (errno.EPIPE, errno.ECONNRESET)


def flush_and_exit(code):
    """os._exit, but keep the user's buffered prints: the host forwards them as log lines."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 (closed, reentrant or broken stream: exit anyway)
            pass
    os._exit(code)


class FrameTooLarge(UnserializableError):
    """A message whose frame the host would refuse (over --max-frame-bytes): it is not written."""

    pyvisor_type = "pyvisor.FrameTooLarge"


class FrameWriter:
    """Encodes messages with the negotiated codec and writes whole frames under one lock.

    A payload over `max_frame_bytes` (the host's limit, which it passes as --max-frame-bytes) is
    refused with FrameTooLarge before anything is written: the host would kill the worker for it.
    """

    def __init__(self, out_fd, codec, max_frame_bytes=MAX_LEN):
        self.out_fd = out_fd
        self.max_frame_bytes = min(max_frame_bytes, MAX_LEN)
        self._wlock = threading.Lock()
        self.set_codec(codec)

    def set_codec(self, codec):
        self.codec = codec
        self.encode = codec.encode
        self.encode_result = codec.encode_result

    def send(self, msg):
        """Encode and write one frame. Raises UnserializableError (before anything is written)."""
        self.write_payload(self.encode(msg))

    def send_result(self, call_id, value):
        """The `result` frame of a call: the most common frame, encoded on the codec's short path."""
        self.write_payload(self.encode_result(call_id, value))

    def write_payload(self, payload):
        n = len(payload)
        if n > self.max_frame_bytes:
            raise FrameTooLarge(f"its frame would be {n} bytes, over the host's max-frame-bytes ({self.max_frame_bytes})")
        fd = self.out_fd
        with self._wlock:
            try:
                if n < _SMALL:
                    data = pack_header(n) + payload
                    done = os.write(fd, data)
                    if done < len(data):
                        self._write_rest(memoryview(data)[done:])
                else:
                    header = pack_header(n)
                    done = os.writev(fd, [header, payload])
                    if done < 4:
                        self._write_rest(memoryview(header)[done:])
                        done = 4
                    if done - 4 < n:
                        self._write_rest(memoryview(payload)[done - 4:])
            except OSError as exc:
                if exc.errno in _GONE:
                    os._exit(0)  # the host closed fd 4: it is gone, nobody to answer
                raise

    def _write_rest(self, view):
        while view:
            view = view[os.write(self.out_fd, view):]

    def log(self, level, message):
        try:
            self.send({"kind": "log", "level": level, "message": message})
        except UnserializableError:
            pass

    def fatal(self, message, code=3):
        """Protocol corruption: tell the host if the pipe is free, then exit at once."""
        try:
            os.write(2, f"pyvisor_worker: {message}\n".encode("utf-8", "replace"))
            payload = self.encode({"kind": "log", "level": "error", "message": message})
            if self._wlock.acquire(timeout=1.0):
                os.write(self.out_fd, pack_header(len(payload)) + payload)
        except BaseException:  # noqa: BLE001 (best effort only)
            pass
        os._exit(code)
