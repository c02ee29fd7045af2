"""pyvisor worker runtime: write `@handler` functions in Python, call them from a Node.js pool.

    from pyvisor_worker import handler, Context

    @handler
    def add(a, b):
        return a + b

Only the names below are public; the rest of the package is the runtime behind
`python -m pyvisor_worker` and may change.
"""
from .context import Context, HostCallError, HostCallTimeout
from .protocol import UnserializableError
from .registry import handler

__version__ = "0.1.0"
__all__ = ["Context", "HostCallError", "HostCallTimeout", "UnserializableError", "handler"]
