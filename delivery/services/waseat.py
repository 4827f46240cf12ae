"""Closing orders in WASEAT, whichever path (request or consumer) does it."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from delivery.models import Order
from events.publishing import publish
from events.types import EventType
from integrations.waseat import CloseRequest, waseat_backend
from side_effects.models import EffectKind, EffectPath, EffectRecord, effect_recorded


def waseat_close(
    *,
    albaik_identifier: str,
    total: str,
    delivered_at: datetime | str | None,
    path: str,
    event_id: uuid.UUID | None = None,
) -> bool:
    """Close the order in WASEAT unless it was already closed. Returns True if it sent the close.

    Raises TransientHTTPError / PermanentHTTPError from the client; a failure is recorded.
    """
    if EffectRecord.objects.filter(
        albaik_identifier=albaik_identifier, kind=EffectKind.WASEAT_CLOSE, outcome="ok"
    ).exists():
        return False
    if isinstance(delivered_at, datetime):
        delivered_at = delivered_at.isoformat()
    request = CloseRequest(
        albaik_identifier=albaik_identifier, total=total, delivery_status="delivered", delivered_at=delivered_at
    )
    with effect_recorded(
        albaik_identifier=albaik_identifier,
        kind=EffectKind.WASEAT_CLOSE,
        path=path,
        event_id=event_id,
        detail=request.body(),
    ):
        waseat_backend().close_order(request)
    return True


def waseat_close_delivered(*, snapshot: dict[str, Any], path: str, event_id: uuid.UUID | None) -> bool:
    """Close the order of a `delivery.delivered` event's data in WASEAT (request or consumer)."""
    order = snapshot["order"]
    return waseat_close(
        albaik_identifier=order["albaik_identifier"],
        total=order["total"],
        delivered_at=snapshot["delivery"].get("finished_at"),
        path=path,
        event_id=event_id,
    )


def order_close_in_waseat(*, order_id: int, path: str, event_id: uuid.UUID | None = None) -> bool:
    """Close a delivered order in WASEAT once (own-fleet and aggregator orders alike)."""
    order = Order.objects.get(pk=order_id)
    return waseat_close(
        albaik_identifier=order.albaik_identifier,
        total=str(order.total),
        delivered_at=timezone.now(),
        path=path,
        event_id=event_id,
    )


WASEAT_CLOSE_REQUESTED = EventType.WASEAT_CLOSE_REQUESTED

# A close the request owes WASEAT, written in the request's own transaction and cleared once the
# close was sent or handed over. Left behind only when the process died in between; the sweeper
# hands it over then.
PENDING = "pending"
HANDED_OVER = "handed_over"


def hand_over_data(*, snapshot: dict[str, Any], delivered_event_id: uuid.UUID | str) -> dict[str, Any]:
    """The data of a `waseat.close_requested` event for the delivered trip of `snapshot`."""
    delivery = snapshot["delivery"]
    finished_at = delivery.get("finished_at")
    if isinstance(finished_at, datetime):
        finished_at = finished_at.isoformat()
    return {
        "order": snapshot["order"],
        "delivery": {"id": delivery["id"], "finished_at": finished_at},
        "delivered_event_id": str(delivered_event_id),
    }


def waseat_close_pending_mark(*, snapshot: dict[str, Any], key: str, delivered_event_id: uuid.UUID) -> int:
    """Record, in the caller's transaction, that this delivered order is owed a close. Returns its id."""
    record = EffectRecord.objects.create(
        albaik_identifier=snapshot["order"]["albaik_identifier"],
        kind=EffectKind.WASEAT_CLOSE,
        path=EffectPath.REQUEST,
        outcome=PENDING,
        event_id=delivered_event_id,
        detail={"key": key, "data": hand_over_data(snapshot=snapshot, delivered_event_id=delivered_event_id)},
    )
    return record.pk


def waseat_close_pending_clear(*, pending_id: int) -> None:
    """The owed close was sent (or handed over): nothing is left for the sweeper."""
    EffectRecord.objects.filter(pk=pending_id, outcome=PENDING).delete()


def waseat_close_hand_over(
    *, snapshot: dict[str, Any], key: str, delivered_event_id: uuid.UUID, pending_id: int | None = None
) -> None:
    """Hand a close the request could not do to the waseat consumer, as its own event.

    Only the waseat consumer handles `waseat.close_requested`; the delivered event is not
    published again, so notifications, broadcasts and history are not repeated.
    """
    with transaction.atomic():
        publish(
            event_type=WASEAT_CLOSE_REQUESTED,
            key=key,
            data=hand_over_data(snapshot=snapshot, delivered_event_id=delivered_event_id),
        )
        if pending_id is not None:
            waseat_close_pending_clear(pending_id=pending_id)


def waseat_close_pending_sweep(*, older_than: timedelta, limit: int = 500) -> int:
    """Hand over the closes owed for longer than `older_than`: their request died before sending them.

    The age must exceed the longest a request can spend closing (its attempts and timeouts), so a
    close still in flight is not handed over; if one were, WASEAT sees the same Idempotency-Key
    twice and closes once. Returns how many were handed over.
    """
    handed_over = 0
    with transaction.atomic():
        owed = list(
            EffectRecord.objects.select_for_update(skip_locked=True)
            .filter(kind=EffectKind.WASEAT_CLOSE, outcome=PENDING, at__lte=timezone.now() - older_than)
            .order_by("at", "id")[:limit]
        )
        for record in owed:
            closed = EffectRecord.objects.filter(
                albaik_identifier=record.albaik_identifier, kind=EffectKind.WASEAT_CLOSE, outcome="ok"
            ).exists()
            if closed:
                record.delete()
                continue
            publish(event_type=WASEAT_CLOSE_REQUESTED, key=record.detail["key"], data=record.detail["data"])
            record.outcome = HANDED_OVER
            record.save(update_fields=["outcome"])
            handed_over += 1
    return handed_over


def waseat_close_requested(*, data: dict[str, Any], event_id: uuid.UUID) -> bool:
    """The waseat consumer's half of a hand-over: close the order unless it is closed already."""
    order = data["order"]
    return waseat_close(
        albaik_identifier=order["albaik_identifier"],
        total=order["total"],
        delivered_at=data["delivery"].get("finished_at"),
        path=EffectPath.CONSUMER,
        event_id=event_id,
    )
