"""How a Python exception is described on the wire: its `type` name and a traceback worth reading."""
import os
import traceback

try:  # only its location, to trim tracebacks; asyncio itself is imported on first use
    from importlib.util import find_spec

    asyncio_file = find_spec("asyncio").origin
except Exception:  # noqa: BLE001
    asyncio_file = None


def error_type(exc):
    """Wire `type` of an exception: `ValueError` for builtins, `module.Qual.Name` otherwise."""
    wire = getattr(type(exc), "pyvisor_type", None)
    if isinstance(wire, str):
        return wire
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


_OWN_DIRS = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
             os.path.dirname(os.path.abspath(asyncio_file)) + os.sep if asyncio_file else "\0")


def format_traceback(exc):
    """Like traceback.format_exc(), minus the leading runtime/asyncio frames the user did not write."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN_DIRS):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))
