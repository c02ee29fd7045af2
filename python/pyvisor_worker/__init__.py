"""pyvisor worker runtime: write `@handler` functions in Python, call them from a Node.js pool.

    from pyvisor_worker import handler, Context

    @handler
    def add(a, b):
        return a + b

Handlers that take `ctx` reach the host store through `ctx.store` (get/put/delete/keys, cached
per worker by version) and stored programs through `ctx.programs` with `@program("kind")`
factories, and open child spans of the host's call span with `ctx.trace.span(name, attributes)`
(reported to the host, which exports them: see trace.py). A sync handler whose call the host
cancels gets `Cancelled` raised where it runs. Only the names below are public; the rest of the
package is the runtime behind `python -m pyvisor_worker` and may change.
"""
from .cancel import Cancelled
from .context import Context, HostCallError, HostCallTimeout
from .protocol import UnserializableError
from .registry import handler
from .values import NdArray

__version__ = "0.1.0"
__all__ = ["Cancelled", "Context", "HostCallError", "HostCallTimeout", "NdArray", "ProgramNotFound", "UnknownProgramKind",
           "UnserializableError", "handler", "program"]
_LAZY = frozenset(("ProgramNotFound", "UnknownProgramKind", "program"))


def __getattr__(name):
    # The programs module loads when first named, so workers that never use it start faster.
    if name in _LAZY:
        from . import programs  # noqa: PLC0415

        return getattr(programs, name)
    raise AttributeError(f"module 'pyvisor_worker' has no attribute {name!r}")
