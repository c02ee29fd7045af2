"""pyvisor worker runtime: write `@handler` functions in Python, call them from a Node.js pool.

    from pyvisor_worker import handler, Context

    @handler
    def add(a, b):
        return a + b

Handlers that take `ctx` reach the host store through `ctx.store` (get/put/delete/keys, cached
per worker by version) and stored programs through `ctx.programs` with `@program("kind")`
factories, and open child spans of the host's call span with `ctx.trace.span(name, attributes)`
(reported to the host, which exports them: see trace.py). A sync handler whose call the host
cancels gets `Cancelled` raised where it runs, and so does an `async def` one still running 50 ms
later without reaching an await (otherwise asyncio's CancelledError arrives at the await). Only
the names below are public; the rest of the
package is the runtime behind `python -m pyvisor_worker` and may change.
"""
import os as _os
import sys as _sys

# The first of the runtime's code that runs: keep the user's cwd off sys.path while the runtime
# imports what it needs (a user file named platform.py or json.py must not replace the stdlib
# module). The host asks for that with PYTHONSAFEPATH; Python before 3.11 ignores it and has put
# cwd ("" under -c) first, so take it off here. bootstrap.put_cwd_on_path puts it back after.
if _os.environ.get("PYVISOR_SAFEPATH") and not getattr(_sys.flags, "safe_path", False) \
        and _sys.path[:1] in ([""], [_os.getcwd()]):
    del _sys.path[0]

from .cancel import Cancelled  # noqa: E402 (after sys.path is safe)
from .context import Context, HostCallError, HostCallTimeout  # noqa: E402
from .protocol import UnserializableError  # noqa: E402
from .registry import handler  # noqa: E402
from .values import NdArray  # noqa: E402

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
