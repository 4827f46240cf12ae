"""Publishing an event: one outbox row in the caller's transaction."""

import uuid
import zlib
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
# 0003_outbox_notify_trigger): no extra round trip, and one notification per transaction when it commits.
OUTBOX_CHANNEL = "events_outbox"
# Namespace of the per-key transaction locks (the two-int advisory lock space, apart from one-bigint locks).
KEY_LOCK_NAMESPACE = zlib.crc32(b"events.outbox_key") & 0x7FFFFFFF
# Room for the record's framing (offsets, timestamps, lengths) on top of key, value and headers.
RECORD_OVERHEAD_BYTES = 512


class EventTooLarge(InvalidEvent):
    """The event would exceed the producer's message.max.bytes: the broker could never take it."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"event of {size} bytes exceeds the {limit}-byte message limit", code="too_large")
        self.size = size
        self.limit = limit


def publish(*, event_type: str, key: str, data: dict[str, Any], handled_synchronously: Iterable[str] = ()) -> Event:
    """Write an outbox row in the caller's transaction, encoded once.

    Validated against the schema of (event_type, version 1) when `EVENTS_VALIDATE_ON_WRITE` is on (DEBUG and
    the test suite); consumers validate every event they read either way. Raises RuntimeError outside
    transaction.atomic(), InvalidEvent on bad data (EventTooLarge, code `too_large`, when it could never be sent).

    Events of one key are written in the order their transactions commit: a per-key transaction lock
    is taken before the insert, so a second writer of the key waits until the first one commits."""
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
    headers = {"event_id": str(event.id), "event_type": event.type}
    size = record_size(key=key, value=envelope, headers=headers)
    if size > settings.KAFKA_MESSAGE_MAX_BYTES:
        raise EventTooLarge(size, settings.KAFKA_MESSAGE_MAX_BYTES)
    if connection.vendor == "postgresql":
        # The key's lock, held to commit (the NOTIFY comes from the outbox table's trigger at commit).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [KEY_LOCK_NAMESPACE, key])
    OutboxEvent.objects.create(
        event_id=event.id,
        type=event.type,
        key=event.key,
        topic=topic_name(),
        envelope=envelope.decode(),
        headers=headers,
        albaik_identifier=_albaik_identifier(data),
        created_at=event.occurred_at,
    )
    return event


def record_size(*, key: str, value: bytes | str, headers: dict[str, Any]) -> int:
    """An upper bound of the bytes one Kafka record takes, as checked against message.max.bytes."""
    encoded = value.encode() if isinstance(value, str) else value
    header_bytes = sum(len(name.encode()) + len(str(item).encode()) for name, item in headers.items())
    return len(key.encode()) + len(encoded) + header_bytes + RECORD_OVERHEAD_BYTES


def _albaik_identifier(data: dict[str, Any]) -> str | None:
    order = data.get("order")
    value = order.get("albaik_identifier") if isinstance(order, dict) else None
    return value if isinstance(value, str) else None


__all__ = ["OUTBOX_CHANNEL", "EventTooLarge", "InvalidEvent", "publish", "record_size"]
