"""The dashboard websocket: forwards the branch group's preparation updates to staff of the branch."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from restaurant.broadcasts import MESSAGE_TYPE, branch_group
from restaurant.selectors import user_is_branch_staff

# Application close code for "not allowed" (4000-4999 are free for applications).
CLOSE_FORBIDDEN = 4403


class BranchDashboardConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/restaurant/branches/<branch_id>/`: staff of the branch only; others are closed with 4403."""

    group_name: str | None = None

    async def connect(self) -> None:
        branch_id: int = self.scope["url_route"]["kwargs"]["branch_id"]
        allowed = await database_sync_to_async(user_is_branch_staff)(user=self.scope.get("user"), branch_id=branch_id)
        if allowed:
            # Join before accepting: once the page sees the socket open, no broadcast can be missed.
            self.group_name = branch_group(branch_id)
            await self.channel_layer.group_add(self.group_name, self.channel_name)
        # Accept even when refusing, so the browser sees the close code (a refused handshake carries none).
        await self.accept()
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        # The page only listens: whatever it sends (even invalid JSON) is ignored.
        return None

    async def preparation_updated(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": MESSAGE_TYPE, "preparation": event["preparation"]})
