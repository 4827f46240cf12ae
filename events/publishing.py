"""Publishing an event: one outbox row in the caller's transaction."""

import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone

from events.envelope import Event, InvalidEvent, validate_document
from events.models import OutboxEvent
from events.topics import topic_name

# PostgreSQL channel the relay LISTENs on. A statement trigger on the outbox table NOTIFYs it (migration
# 0002_outbox_notify_trigger): no extra round trip, and one notification per transaction when it commits.
OUTBOX_CHANNEL = "events_outbox"


def publish(*, event_type: str, key: str, data: dict[str, Any], handled_synchronously: Iterable[str] = ()) -> Event:
    """Write an outbox row in the caller's transaction, encoded once.

    Validated against the schema of (event_type, version 1) when `EVENTS_VALIDATE_ON_WRITE` is on (DEBUG and
    the test suite); consumers validate every event they read either way. Raises RuntimeError outside
    transaction.atomic(), InvalidEvent on bad data."""
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must be called inside transaction.atomic(): the event commits with the change")
    event = Event(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        occurred_at=timezone.now(),
        key=key,
        handled_synchronously=tuple(dict.fromkeys(handled_synchronously)),
        data=data,
    )
    envelope = event.to_json()
    if settings.EVENTS_VALIDATE_ON_WRITE:
        # Validate what is written, byte for byte, not the Python objects it came from.
        validate_document(orjson.loads(envelope))
    OutboxEvent.objects.create(
        event_id=event.id,
        type=event.type,
        key=event.key,
        topic=topic_name(),
        envelope=envelope.decode(),
        headers={"event_id": str(event.id), "event_type": event.type},
        albaik_identifier=_albaik_identifier(data),
        created_at=event.occurred_at,
    )
    return event


def _albaik_identifier(data: dict[str, Any]) -> str | None:
    order = data.get("order")
    value = order.get("albaik_identifier") if isinstance(order, dict) else None
    return value if isinstance(value, str) else None


__all__ = ["OUTBOX_CHANNEL", "InvalidEvent", "publish"]
