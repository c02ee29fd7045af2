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


def _user_frames(te, seen):
    """Drops the runtime's and asyncio's frames from `te` and the exceptions chained to it."""
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if not f.filename.startswith(_OWN_DIRS)])
    _user_frames(te.__cause__, seen)
    _user_frames(te.__context__, seen)
    for member in getattr(te, "exceptions", None) or ():  # an ExceptionGroup's members
        _user_frames(member, seen)


def format_traceback(exc):
    """Like traceback.format_exc(), minus the leading runtime/asyncio frames the user did not write."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN_DIRS):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def format_tracebacks(exc):
    """(user, full): the traceback through the user's frames only, wherever the runtime's frames
    were (ctx.call_host and the store raise from inside the runtime); and format_traceback's,
    or None when it is the same text."""
    full = format_traceback(exc)
    try:
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        _user_frames(te, set())
        user = "".join(te.format())
    except Exception:  # noqa: BLE001 (a traceback that will not format: keep the full one)
        return full, None
    return user, (None if user == full else full)
