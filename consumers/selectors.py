"""Reads across the event backbone."""

import json
from datetime import datetime
from typing import Any

from consumers.models import ProcessedEvent
from delivery.errors import NotFound
from delivery.models import DeliveryStatusChange, Order, OrderStatus
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from side_effects.policy import transition_works

# For entries with the same time: the cause before its consequences.
_KIND_RANK = {"order_placed": 0, "status_change": 1, "event": 2, "processed": 3}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _work_paths(event: OutboxEvent) -> dict[str, str]:
    """Which path did each piece of the event's work: "request" (old) or "consumer" (new)."""
    handled = set(json.loads(event.envelope).get("handled_synchronously", []))
    return {work.name: "request" if work.name in handled else "consumer" for work in transition_works(event.type)}


def order_timeline_get(*, albaik_identifier: str) -> dict[str, Any]:
    """Everything that happened to an order, oldest first: status changes, outbox events,
    the consumers that processed them, and external effects (contract §1 `order_timeline`)."""
    order = Order.objects.filter(albaik_identifier=albaik_identifier).first()
    if order is None:
        raise NotFound(f"No order {albaik_identifier!r}.", fields={"albaik_identifier": ["Not found."]})
    entries: list[tuple[datetime, dict[str, Any]]] = [
        # Each row says what happened at its time: when placed, every order was PLACED, whatever it is now.
        (order.created_at, {"kind": "order_placed", "status": OrderStatus.PLACED.value, "source": order.source}),
    ]
    for change in DeliveryStatusChange.objects.filter(delivery__order=order).select_related("delivery"):
        entries.append(
            (
                change.created_at,
                {
                    "kind": "status_change",
                    "status": change.status,
                    "source": change.source,
                    "delivery_id": change.delivery_id,
                    "driver_id": change.delivery.driver_id,
                },
            )
        )
    events = list(OutboxEvent.objects.filter(albaik_identifier=albaik_identifier).order_by("id"))
    for event in events:
        entries.append(
            (
                event.created_at,
                {
                    "kind": "event",
                    "event_id": str(event.event_id),
                    "type": event.type,
                    "key": event.key,
                    "published_at": _iso(event.published_at),
                    "work": _work_paths(event),
                },
            )
        )
    for processed in ProcessedEvent.objects.filter(event_id__in=[event.event_id for event in events]):
        entries.append(
            (
                processed.processed_at,
                {
                    "kind": "processed",
                    "event_id": str(processed.event_id),
                    "type": processed.event_type,
                    "consumer": processed.consumer,
                },
            )
        )
    for effect in EffectRecord.objects.filter(albaik_identifier=albaik_identifier):
        entries.append(
            (
                effect.at,
                {
                    "kind": effect.kind,
                    "path": effect.path,
                    "outcome": effect.outcome,
                    "event_id": str(effect.event_id) if effect.event_id else None,
                    "detail": effect.detail,
                },
            )
        )
    entries.sort(key=lambda entry: (entry[0], _KIND_RANK.get(entry[1]["kind"], 4)))
    return {
        "order": {
            "id": order.pk,
            "albaik_identifier": order.albaik_identifier,
            "status": order.status,
            "source": order.source,
            "total": str(order.total),
            "branch_id": order.branch_id,
            "aggregator_id": order.aggregator_id,
            "created_at": _iso(order.created_at),
        },
        "entries": [{"at": at.isoformat(), **entry} for at, entry in entries],
    }
