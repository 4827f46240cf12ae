"""The dashboard websocket (contract §4): staff of the branch only, others closed with 4403."""

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from delivery.models import Branch
from restaurant.broadcasts import broadcast_preparation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def socket_headers(user: Any | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def connect_and_collect(*, branch_id: int, user: Any | None, broadcast: dict[str, Any] | None) -> dict[str, Any]:
    """Open the socket as `user`, optionally broadcast to the branch, and report what the socket saw."""

    headers = socket_headers(user)

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, f"/ws/restaurant/branches/{branch_id}/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        seen: dict[str, Any] = {"accepted": connected}
        if broadcast is not None:
            await sync_to_async(broadcast_preparation)(branch_id=branch_id, preparation=broadcast)
        output = await communicator.receive_output(timeout=5)
        seen["output"] = output
        await communicator.disconnect()
        return seen

    return async_to_sync(scenario)()


def test_staff_of_the_branch_receive_its_broadcasts(branch: Branch, staff: Any) -> None:
    preparation = {"id": 41, "status": "collecting", "order": {"albaik_identifier": "ALB-1"}}

    seen = connect_and_collect(branch_id=branch.pk, user=staff, broadcast=preparation)

    assert seen["accepted"] is True
    assert seen["output"]["type"] == "websocket.send"
    assert json.loads(seen["output"]["text"]) == {"type": "preparation.updated", "preparation": preparation}


def test_staff_of_another_branch_are_closed_with_4403(branch: Branch, other_staff: Any) -> None:
    seen = connect_and_collect(branch_id=branch.pk, user=other_staff, broadcast=None)
    assert seen["output"] == {"type": "websocket.close", "code": 4403}


def test_anonymous_users_are_closed_with_4403(branch: Branch) -> None:
    seen = connect_and_collect(branch_id=branch.pk, user=None, broadcast=None)
    assert seen["output"] == {"type": "websocket.close", "code": 4403}


def test_inactive_staff_are_closed_with_4403(branch: Branch) -> None:
    user = UserFactory.create(is_active=False)
    branch.staff.add(user)
    seen = connect_and_collect(branch_id=branch.pk, user=user, broadcast=None)
    assert seen["output"] == {"type": "websocket.close", "code": 4403}


def test_other_branches_broadcasts_do_not_reach_the_socket(branch: Branch, staff: Any) -> None:
    headers = socket_headers(staff)

    async def scenario() -> bool:
        communicator = WebsocketCommunicator(application, f"/ws/restaurant/branches/{branch.pk}/", headers=headers)
        await communicator.connect(timeout=5)
        await sync_to_async(broadcast_preparation)(branch_id=branch.pk + 1, preparation={"id": 1})
        nothing = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True
