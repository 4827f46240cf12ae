"""Reads for `currentTrip`: from the CurrentTrip snapshot, or assembled from normal data.

Both return the same plain structure (`TripView`), which the GraphQL types render,
so the two paths give identical answers.
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connections, router

from delivery.models import Delivery, Driver
from delivery.selectors.rows import ModelColumns, instance_of, model_columns
from delivery.selectors.snapshots import branch_json, order_items_json
from driver_api.models import CurrentTrip
from side_effects.flags import FlagName, flag_active_for


@dataclass(frozen=True)
class DeliveryView:
    created_at: datetime
    status: str
    arrived_at: datetime | None
    collecting_at: datetime | None


@dataclass(frozen=True)
class TripView:
    id: int
    albaik_identifier: str
    total: Decimal
    latitude: float
    longitude: float
    delivery: DeliveryView
    branch: dict[str, Any]
    customer: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


@functools.cache
def snapshot_read(alias: str) -> tuple[str, ModelColumns]:
    """The SQL of `current_trip_from_snapshot` for the database `alias`, written once per process.

    Plain SQL: the ORM would spend longer compiling this read than PostgreSQL takes to run it.
    """
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = model_columns(connection, CurrentTrip, "s", 0)
    sql = (
        f"SELECT {columns.select} FROM {quote(CurrentTrip._meta.db_table)} s"
        f" WHERE s.{quote('driver_id')} = %s AND s.{quote('order_id')} IS NOT NULL"
    )
    return sql, columns


def current_trip_from_snapshot(*, driver_id: int) -> TripView | None:
    """One primary-key read of the driver's CurrentTrip row."""
    connection = connections[router.db_for_read(CurrentTrip)]
    sql, columns = snapshot_read(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [driver_id])
        found = cursor.fetchone()
    if found is None:
        return None
    row = instance_of(columns, connection, found)
    assert isinstance(row, CurrentTrip)
    assert row.order_id is not None
    assert row.total is not None
    assert row.delivery_created_at is not None
    return TripView(
        id=row.order_id,
        albaik_identifier=row.albaik_identifier,
        total=row.total,
        latitude=float(row.latitude or 0.0),
        longitude=float(row.longitude or 0.0),
        delivery=DeliveryView(
            created_at=row.delivery_created_at,
            status=row.delivery_status,
            arrived_at=row.arrived_at,
            collecting_at=row.collecting_at,
        ),
        branch=row.branch,
        customer=row.customer,
        items=row.items,
    )


def current_trip_from_normal_data(*, driver_id: int) -> TripView | None:
    """The old path: assemble the trip from the driver's current delivery and its order."""
    delivery_id = Driver.objects.filter(pk=driver_id).values_list("current_delivery_id", flat=True).first()
    if delivery_id is None:
        return None
    delivery = (
        Delivery.objects.select_related("order", "order__branch").prefetch_related("order__items").get(pk=delivery_id)
    )
    return trip_view_of(delivery)


def trip_view_of(delivery: Delivery) -> TripView:
    """The trip as the driver app sees it, from a delivery with its order, branch and items loaded."""
    order = delivery.order
    return TripView(
        id=order.pk,
        albaik_identifier=order.albaik_identifier,
        total=order.total,
        latitude=order.latitude,
        longitude=order.longitude,
        delivery=DeliveryView(
            created_at=delivery.created_at,
            status=delivery.status,
            arrived_at=delivery.arrived_at,
            collecting_at=delivery.collecting_at,
        ),
        branch=branch_json(order.branch),
        customer={
            "first_name": order.contact_first_name,
            "last_name": order.contact_last_name,
            "telephone": order.contact_telephone,
        },
        items=order_items_json(order),
    )


def current_trip_for_driver(*, driver: Driver) -> TripView | None:
    """`currentTrip`: the snapshot when `driver_current_trip_snapshot` is on for the driver."""
    if flag_active_for(FlagName.DRIVER_CURRENT_TRIP_SNAPSHOT, driver.user):
        return current_trip_from_snapshot(driver_id=driver.pk)
    return current_trip_from_normal_data(driver_id=driver.pk)


@dataclass(frozen=True)
class Drift:
    driver_id: int
    fields: list[str]
    snapshot: dict[str, Any] | None
    normal_data: dict[str, Any] | None


def _as_dict(trip: TripView | None) -> dict[str, Any] | None:
    if trip is None:
        return None
    from dataclasses import asdict

    return asdict(trip)


def current_trip_drift(*, batch_size: int = 500) -> Iterator[Drift]:
    """Every driver whose CurrentTrip row disagrees with normal data, with the fields that differ."""
    driver_ids = Driver.objects.order_by("pk").values_list("pk", flat=True)
    for driver_id in driver_ids.iterator(chunk_size=batch_size):
        snapshot = _as_dict(current_trip_from_snapshot(driver_id=driver_id))
        normal = _as_dict(current_trip_from_normal_data(driver_id=driver_id))
        if snapshot == normal:
            continue
        if snapshot is None or normal is None:
            fields = ["trip"]
        else:
            fields = sorted(key for key in normal if normal[key] != snapshot.get(key))
        yield Drift(driver_id=driver_id, fields=fields, snapshot=snapshot, normal_data=normal)
