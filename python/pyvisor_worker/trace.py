"""ctx.trace: spans a handler records, reported to the host with the call's answer.

When the host traces a call (its pool has telemetry on), the `call` frame carries the W3C
`traceparent` of the host's call span. A handler opens child spans with

    with ctx.trace.span("load model", {"model": "small"}) as span:
        span.set_attribute("rows", 10)

Each finished span is recorded here (name, start and end time, attributes, events, status, and its
parent: the enclosing span of this call, or the call span itself) and travels in the call's final
frame (`result`, `error` or `end`, field `spans`); the host re-creates them as real OpenTelemetry
spans under the call span. So Python needs neither opentelemetry-api nor an exporter. Without a
traceparent (telemetry off, or the trace not sampled) every span is a no-op and nothing is sent.

Nesting follows a context variable, so spans opened by concurrent asyncio tasks of one call get
the right parent. Spans still open when the call is answered are not reported.
"""
import contextvars
import math
import time

MAX_SPANS = 1000  # per call: a runaway loop must not make the answer frame huge
_INT64 = 1 << 63
_current = contextvars.ContextVar("pyvisor_span", default=None)


def _value(v):
    """An attribute value OpenTelemetry can hold: str, bool, int, float, or a list of them."""
    kind = type(v)
    if kind is str or kind is bool:
        return v
    if kind is int:
        return v if -_INT64 <= v < _INT64 else str(v)
    if kind is float:
        return v if math.isfinite(v) else str(v)
    if kind is list or kind is tuple:
        return [x if type(x) in (str, bool, float) or (type(x) is int and -_INT64 <= x < _INT64) else str(x) for x in v]
    return str(v)


def _attributes(attributes):
    if not attributes:
        return {}
    if not isinstance(attributes, dict):
        raise TypeError(f"span attributes must be a dict, not {type(attributes).__name__}")
    return {str(k): _value(v) for k, v in attributes.items()}


def _parse(traceparent):
    """(traceparent, sampled) from the call's W3C header; an invalid one counts as absent."""
    if type(traceparent) is not str:
        return None, False
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None, False
    try:
        flags = int(parts[3], 16)
    except ValueError:
        return None, False
    return traceparent, bool(flags & 1)


class Trace:
    """A call's tracing: `span(name, attributes)` opens a child span; `traceparent` is the host's
    call span (W3C), or None when the call is not traced; `enabled` says whether spans are kept."""

    __slots__ = ("traceparent", "enabled", "_finished", "_next")

    def __init__(self, traceparent):
        self.traceparent, self.enabled = _parse(traceparent)
        self._finished = []
        self._next = 1

    def span(self, name, attributes=None):
        """A context manager for one span; an exception leaving it marks the span as an error."""
        if not self.enabled:
            return _NOOP
        if not isinstance(name, str) or not name:
            raise TypeError(f"span name must be a non-empty str, got {name!r}")
        return Span(self, name, _attributes(attributes))

    def _finish(self, record):
        if len(self._finished) < MAX_SPANS:  # later ones are dropped
            self._finished.append(record)

    def attach(self, msg):
        """Put the finished spans on a final frame (called by invoke.py just before it is sent)."""
        if self._finished:
            msg["spans"] = self._finished


class Span:
    """One span: used as `with ctx.trace.span(...) as span:`."""

    __slots__ = ("_trace", "_record", "_token")

    def __init__(self, trace, name, attributes):
        self._trace = trace
        self._record = {"id": 0, "parent": 0, "name": name, "start": 0.0, "end": 0.0, "attributes": attributes}
        self._token = None

    def __enter__(self):
        trace = self._trace
        record = self._record
        record["id"] = trace._next
        trace._next += 1
        above = _current.get()
        record["parent"] = above._record["id"] if above is not None and above._trace is trace else 0
        record["start"] = time.time() * 1000.0
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type, exc, tb):
        record = self._record
        record["end"] = time.time() * 1000.0
        if exc is not None:
            message = f"{exc_type.__name__}: {exc}"
            record["status"] = "error"
            record["message"] = message
            self.add_event("exception", {"exception.type": exc_type.__qualname__, "exception.message": str(exc)})
        elif "status" not in record:
            record["status"] = "ok"
        try:
            _current.reset(self._token)
        except ValueError:  # exited in another context than it was entered in: leave that one alone
            pass
        self._trace._finish(record)
        return False

    def set_attribute(self, key, value):
        self._record["attributes"][str(key)] = _value(value)

    def set_attributes(self, attributes):
        self._record["attributes"].update(_attributes(attributes))

    def add_event(self, name, attributes=None):
        """A point in time inside the span, with its own attributes."""
        event = {"name": str(name), "time": time.time() * 1000.0}
        if attributes:
            event["attributes"] = _attributes(attributes)
        self._record.setdefault("events", []).append(event)

    def set_status(self, ok, message=None):
        """Mark the span as succeeded (True) or failed (False, with an optional message)."""
        self._record["status"] = "ok" if ok else "error"
        if message is not None:
            self._record["message"] = str(message)


class _NoopSpan:
    """What `span()` gives when the call is not traced: the same methods, nothing recorded."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return False

    def set_attribute(self, key, value):
        pass

    def set_attributes(self, attributes):
        pass

    def add_event(self, name, attributes=None):
        pass

    def set_status(self, ok, message=None):
        pass


_NOOP = _NoopSpan()

for _cls in (Trace, Span):
    _cls.__module__ = "pyvisor_worker"
