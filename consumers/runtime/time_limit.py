"""A per-message time limit that works in any thread (devserver runs consumers on threads).

When the limit passes, a watchdog raises `HandlerTimeout` in the handler's thread. It
lands at the next Python bytecode, so a call blocked in C (a socket read) is interrupted
when it returns: outbound HTTP has its own timeouts for that. The exception is raised only
while the handler runs, inside the runtime's transaction, so the attempt rolls back.
"""

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class HandlerTimeout(Exception):
    """The handler ran longer than the consumer's time limit."""


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    thread_id = threading.get_ident()
    guard = threading.Lock()
    state = {"running": True, "fired": False}

    def expire() -> None:
        with guard:
            if state["running"]:
                state["fired"] = True
                _raise_in(thread_id, HandlerTimeout)

    watchdog = threading.Timer(seconds, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        with guard:
            state["running"] = False
            if state["fired"]:
                _raise_in(thread_id, None)  # withdraw it if it has not been raised yet
