"""The broadcast to the restaurant dashboards: a branch's group and the message sending a `preparation` to it."""

import asyncio
import os
import threading
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

MESSAGE_TYPE = "preparation.updated"


def branch_group(branch_id: int) -> str:
    """The Channels group every dashboard socket of the branch listens on."""
    return f"branch-{branch_id}"


def broadcast_preparation(*, branch_id: int, preparation: dict[str, Any]) -> None:
    """Send a preparation to every open dashboard of the branch (call it from `on_commit`)."""
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return
    group, message = branch_group(branch_id), {"type": MESSAGE_TYPE, "preparation": preparation}
    if _serving_an_event_loop():
        async_to_sync(channel_layer.group_send)(group, message)  # on the server's loop, with its connections
    else:
        _thread_loop().run_until_complete(channel_layer.group_send(group, message))


class _ThreadLoop(threading.local):
    loop: asyncio.AbstractEventLoop | None = None
    pid: int = 0  # a forked child must not share its parent's connections


_thread_loops = _ThreadLoop()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's own event loop for sends, kept for its life: channels_redis keeps connections per
    loop, and `async_to_sync` outside an async server runs each send on a new loop (a new connection,
    ≈ 3 ms a broadcast instead of ≈ 0.3 ms)."""
    loop = _thread_loops.loop
    if loop is None or loop.is_closed() or _thread_loops.pid != os.getpid():
        loop = _thread_loops.loop = asyncio.new_event_loop()
        _thread_loops.pid = os.getpid()
    return loop


def _serving_an_event_loop() -> bool:
    """Whether this thread runs sync code for an async server's loop (asgiref's `sync_to_async`)."""
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    return loop is not None and getattr(local, "main_event_loop_pid", None) == os.getpid()
