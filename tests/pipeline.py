"""Fixtures for tests that run the real pipeline: outbox relay and side-work consumers on threads,
WASEAT and the push gateway as real local HTTP servers, the dashboard's channel layer on Redis."""

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import override_settings
from rest_framework.test import APIClient
from waffle.models import Flag, Switch

from consumers.registry import get_consumer
from consumers.runtime.lag import consumer_lag_report
from delivery.services.accounts import token_issue
from events.models import OutboxEvent
from tests.factories import UserFactory
from tests.http_servers import RecordingServer
from tests.processes import wait_for

SIDE_WORK_CONSUMERS = ("driver_trip", "restaurant_dashboard", "waseat", "customer_notifications", "normal_data")
REDIS_URL = "redis://127.0.0.1:6379/6"

FLAG_FOR = {
    "dashboard_broadcast": "kafka_dashboard_broadcast",
    "customer_notification": "kafka_customer_notification",
    "waseat_close": "kafka_waseat_close",
    "driver_status": "kafka_driver_status",
}
ALL_FLAGS = [*FLAG_FOR.values(), "driver_current_trip_snapshot"]


def turn_on(flags: list[str], *, switch: bool) -> None:
    for name in flags:
        Flag.objects.update_or_create(name=name, defaults={"everyone": True})
    if switch:
        Switch.objects.update_or_create(name="kafka_trip_assignment", defaults={"active": True})


@pytest.fixture
def external(recording_servers: Callable[[], RecordingServer]) -> Iterator[tuple[RecordingServer, RecordingServer]]:
    waseat, push = recording_servers(), recording_servers()
    with override_settings(
        WASEAT_BASE_URL=waseat.url,
        PUSH_GATEWAY_URL=push.url,
        HTTP_CLIENT_MAX_ATTEMPTS=1,
        CONSUMER_RETRY_BACKOFF_SECONDS=0.05,
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"side-work-{uuid.uuid4().hex[:8]}"},
            }
        },
    ):
        yield waseat, push


@pytest.fixture
def pipeline(kafka: Any, relay: Any, consumer: Any, external: Any) -> Callable[[], Callable[[], None]]:
    """`pipeline()` starts the relay and the side-work consumers and returns `settle()`, which waits for them."""
    definitions = [get_consumer(name) for name in SIDE_WORK_CONSUMERS]

    def start() -> Callable[[], None]:
        relay()
        for definition in definitions:
            consumer(definition, consumer_overrides={"auto.commit.interval.ms": 100})

        def settle() -> None:
            wait_for(
                lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
                timeout=30,
                what="the relay to publish the outbox",
            )
            wait_for(
                lambda: all(group.lag == 0 for group in consumer_lag_report(definitions=definitions)),
                timeout=60,
                interval=0.2,
                what="every consumer to catch up",
            )

        return settle

    return start


@pytest.fixture
def dashboard(external: Any, branch: Any) -> Callable[[], list[dict[str, Any]]]:
    """A channel in the branch's group, as an open dashboard socket is; returns a drain function."""
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"branch-{branch.pk}", channel)

    def drain() -> list[dict[str, Any]]:
        async def receive_all() -> list[dict[str, Any]]:
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
                except TimeoutError:
                    return messages

        return async_to_sync(receive_all)()

    return drain


def staff_client(branch: Any) -> APIClient:
    user = UserFactory.create()
    branch.staff.add(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client
