"""The broadcast to the restaurant dashboards: a branch's group and the message sending a `preparation` to it."""

from typing import Any

from asgiref.sync import async_to_sync
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
    async_to_sync(channel_layer.group_send)(branch_group(branch_id), {"type": MESSAGE_TYPE, "preparation": preparation})
