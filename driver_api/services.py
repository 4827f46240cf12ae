"""Writes of the CurrentTrip snapshot. Each writer changes only the fields it owns.

Every change is a merge that can be applied in any order and any number of times:
timestamps are set once and never cleared, and the status only moves forward
(ASSIGNED < WAITING_AT_RESTAURANT < READY_TO_COLLECT < OUT_FOR_DELIVERY < DELIVERED | FAILED).
So the synchronous path and the Kafka consumer can both write without losing an update.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from delivery.models import DeliveryStatus, Driver
from delivery.selectors.snapshots import delivery_snapshot, delivery_with_related
from delivery.transitions import STATUS_RANK
from driver_api.models import CurrentTrip


def _dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def current_trip_assign(*, driver_id: int, snapshot: dict[str, Any], event_id: uuid.UUID | None = None) -> bool:
    """Make the snapshot's trip the driver's current trip. A trip older than the row's is ignored."""
    delivery = snapshot["delivery"]
    order = snapshot["order"]
    customer = snapshot["customer"]
    fields = {
        "delivery_id": delivery["id"],
        "order_id": order["id"],
        "albaik_identifier": order["albaik_identifier"],
        "total": Decimal(order["total"]),
        "latitude": order["latitude"],
        "longitude": order["longitude"],
        "delivery_created_at": _dt(delivery["created_at"]),
        "delivery_status": delivery["status"],
        "arrived_at": _dt(delivery.get("arrived_at")),
        "collecting_at": _dt(delivery.get("collecting_at")),
        "branch": snapshot["branch"],
        "customer": {
            "first_name": customer["first_name"],
            "last_name": customer["last_name"],
            "telephone": customer["telephone"],
        },
        "items": snapshot["items"],
        "updated_at": timezone.now(),
        "last_event_id": event_id,
    }
    _, created = CurrentTrip.objects.get_or_create(driver_id=driver_id, defaults={**fields, "version": 1})
    if created:
        return True
    replaced = (
        CurrentTrip.objects.filter(driver_id=driver_id)
        .filter(Q(delivery_id__isnull=True) | Q(delivery_id__lt=delivery["id"]))
        .update(version=F("version") + 1, **fields)
    )
    if replaced:
        return True
    # A repeat (or late copy) of this trip's assignment: merge, never rewind.
    return current_trip_merge(
        driver_id=driver_id,
        delivery_id=delivery["id"],
        status=delivery["status"],
        arrived_at=fields["arrived_at"],
        collecting_at=fields["collecting_at"],
        event_id=event_id,
    )


def current_trip_merge(
    *,
    driver_id: int,
    delivery_id: int,
    status: str,
    arrived_at: datetime | None = None,
    collecting_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> bool:
    """Merge one change of the driver's current trip, in one UPDATE. False if it is not their current trip."""
    rank = STATUS_RANK[DeliveryStatus(status)]
    behind = [s for s, r in STATUS_RANK.items() if r < rank]
    changes: dict[str, Any] = {
        "delivery_status": Case(When(delivery_status__in=behind, then=Value(status)), default=F("delivery_status")),
        "version": F("version") + 1,
        "updated_at": timezone.now(),
    }
    if arrived_at is not None:
        changes["arrived_at"] = Coalesce(F("arrived_at"), Value(arrived_at))
    if collecting_at is not None:
        changes["collecting_at"] = Coalesce(F("collecting_at"), Value(collecting_at))
    if event_id is not None:
        changes["last_event_id"] = event_id
    trip = CurrentTrip.objects.filter(driver_id=driver_id, delivery_id=delivery_id, order_id__isnull=False)
    return trip.update(**changes) > 0


def current_trip_clear(*, driver_id: int, delivery_id: int) -> bool:
    """The trip was taken from the driver (e.g. reassigned after an accident)."""
    return (
        # delivery_id stays: a late event of the taken trip must not bring it back.
        CurrentTrip.objects.filter(driver_id=driver_id, delivery_id=delivery_id).update(
            order_id=None,
            albaik_identifier="",
            total=None,
            latitude=None,
            longitude=None,
            delivery_created_at=None,
            delivery_status="",
            arrived_at=None,
            collecting_at=None,
            branch={},
            customer={},
            items=[],
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        > 0
    )


def current_trip_rebuild(*, driver_id: int) -> None:
    """Overwrite the driver's row from normal data (repair after drift)."""
    delivery_id = Driver.objects.filter(pk=driver_id).values_list("current_delivery_id", flat=True).first()
    if delivery_id is None:
        trip = CurrentTrip.objects.filter(driver_id=driver_id).first()
        if trip is not None and trip.delivery_id is not None:
            current_trip_clear(driver_id=driver_id, delivery_id=trip.delivery_id)
        return
    snapshot = delivery_snapshot(delivery_with_related().get(pk=delivery_id))
    CurrentTrip.objects.filter(driver_id=driver_id).delete()
    current_trip_assign(driver_id=driver_id, snapshot=snapshot)
