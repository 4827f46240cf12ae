"""The Redis channel layer: a broadcast from another process reaches a connected dashboard socket."""

import asyncio
import json
import os
import sys
import threading
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from delivery.models import Branch
from restaurant.broadcasts import branch_group, broadcast_preparation

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("DASHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")

BROADCAST_SCRIPT = """
import json, sys
import django
django.setup()
from django.conf import settings
from restaurant.broadcasts import broadcast_preparation
print(settings.CHANNEL_LAYERS["default"]["BACKEND"])
broadcast_preparation(branch_id=int(sys.argv[1]), preparation=json.loads(sys.argv[2]))
"""


def test_a_broadcast_from_another_process_reaches_the_socket(settings: Any, branch: Branch, staff: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
    from config.asgi import application

    client = Client()
    client.force_login(staff)
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    marker = uuid.uuid4().hex
    preparation = {"id": 1, "status": "ready", "order": {"albaik_identifier": marker}}

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, f"/ws/restaurant/branches/{branch.pk}/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BROADCAST_SCRIPT,
            str(branch.pk),
            json.dumps(preparation),
            env={**os.environ, "REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "config.settings"},
            cwd=str(django_settings.BASE_DIR),
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0
        # REDIS_URL alone selects the Redis layer in the settings.
        assert stdout.decode().strip() == "channels_redis.core.RedisChannelLayer"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        try:
            while True:
                message = await communicator.receive_json_from(timeout=max(0.1, deadline - loop.time()))
                # Other runs may share the group name on this Redis database: wait for our marker.
                if message["preparation"]["order"]["albaik_identifier"] == marker:
                    return message
        finally:
            await communicator.disconnect()
            await get_channel_layer().close_pools()

    message = async_to_sync(scenario)()
    assert message == {"type": "preparation.updated", "preparation": preparation}


def test_broadcasts_sent_back_to_back_from_a_worker_thread_all_arrive_in_order(settings: Any) -> None:
    """A consumer's thread keeps one event loop (and so one Redis connection) for its broadcasts."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
    layer = get_channel_layer()
    assert layer is not None
    branch_id = 900_000 + uuid.uuid4().int % 100_000
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(branch_group(branch_id), channel)
    errors: list[BaseException] = []

    def send_all() -> None:
        try:
            for number in range(30):
                broadcast_preparation(branch_id=branch_id, preparation={"id": number})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=send_all)
    worker.start()
    worker.join(30)

    async def receive(count: int) -> list[int]:
        try:
            return [(await asyncio.wait_for(layer.receive(channel), 5))["preparation"]["id"] for _ in range(count)]
        finally:
            await layer.group_discard(branch_group(branch_id), channel)

    assert errors == []
    assert async_to_sync(receive)(30) == list(range(30))
