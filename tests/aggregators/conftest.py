"""Fixtures for the aggregator integration: signed webhook requests (the fake API is `tests.fake_aggregator`)."""

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils import timezone

from aggregators.signatures import signature_header
from tests.fake_aggregator import SECRET

Webhook = Callable[..., Any]


@pytest.fixture(autouse=True)
def _webhook_secret(settings: Any) -> None:
    settings.RAPPI_WEBHOOK_SECRET = SECRET
    settings.RAPPI_API_BASE_URL = ""


def at(minutes: float) -> str:
    """An `event_time` some minutes after a fixed instant."""
    return (datetime(2025, 1, 1, 12, 0, tzinfo=timezone.get_fixed_timezone(0)) + timedelta(minutes=minutes)).isoformat()


def signed_patch(
    client: Client,
    path: str,
    body: Any,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    header: str | None = None,
    raw: bytes | None = None,
) -> Any:
    """PATCH `path` as the aggregator does: JSON body and a `Rappi-Signature` over its exact bytes.

    A dict body gets the `order_id` and `event` of `path` unless it names its own.
    """
    if raw is None and isinstance(body, dict):
        body = {**webhook_names(path), **body}
    payload = raw if raw is not None else json.dumps(body).encode()
    if header is None:
        header = signature_header(body=payload, secret=secret, timestamp=timestamp or int(time.time()))
    extra: dict[str, Any] = {"HTTP_RAPPI_SIGNATURE": header} if header else {}
    return client.patch(path, payload, content_type="application/json", **extra)


def webhook_names(path: str) -> dict[str, str]:
    """The `order_id` and `event` a webhook body repeats from its URL `/webhooks/rappi/<id>/<family>/<event>/`."""
    parts = path.strip("/").split("/")
    return {"order_id": unquote(parts[2]), "event": unquote(parts[-1])} if len(parts) >= 5 else {}


def courier_path(aggregator_id: str, status: str) -> str:
    slug = "assign" if status == "assigned" else status
    return f"/webhooks/rappi/{aggregator_id}/couriers/{slug}/"


def courier_body(status: str, event_time: str, courier: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event_time": event_time}
    if status == "assigned":
        body["courier"] = courier or {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}
    return body


@pytest.fixture
def send_courier(client: Client) -> Webhook:
    def send(aggregator_id: str, status: str, event_time: str, courier: dict[str, str] | None = None) -> Any:
        return signed_patch(client, courier_path(aggregator_id, status), courier_body(status, event_time, courier))

    return send
