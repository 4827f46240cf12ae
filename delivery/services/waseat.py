"""Closing orders in WASEAT, whichever path (request or consumer) does it."""

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from delivery.integrations.waseat import CloseRequest, waseat_backend
from delivery.models import Order
from events.publishing import publish
from events.types import EventType
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


def waseat_close_hand_over(*, snapshot: dict[str, Any], key: str, delivered_event_id: uuid.UUID) -> None:
    """Hand a close the request could not do to the waseat consumer, as its own event.

    Only the waseat consumer handles `waseat.close_requested`; the delivered event is not
    published again, so notifications, broadcasts and history are not repeated.
    """
    delivery = snapshot["delivery"]
    with transaction.atomic():
        publish(
            event_type=WASEAT_CLOSE_REQUESTED,
            key=key,
            data={
                "order": snapshot["order"],
                "delivery": {"id": delivery["id"], "finished_at": delivery.get("finished_at")},
                "delivered_event_id": str(delivered_event_id),
            },
        )


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
