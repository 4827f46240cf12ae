"""Driver status and location."""

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from delivery.errors import ValidationFailed
from delivery.models import (
    FINISHED_DELIVERY_STATUSES,
    Delivery,
    Driver,
    DriverStatus,
    DriverStatusChange,
)
from delivery.services.orders import validate_location
from delivery.signals import driver_assignable
from events.envelope import driver_key
from events.types import EventType
from side_effects.policy import TransitionContext
from side_effects.transitions import publish_transition


def driver_status_record(
    *,
    driver_id: int,
    status: str,
    at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> bool:
    """Apply a driver status fact that happened `at` (its origin's time) and append it to the history.

    Called by the request (old path) and the normal_data consumer (new path), which may lag or
    replay: the current status only moves to a newer fact (older never overwrites newer; at an
    equal time the greater status wins, so any order of the same facts ends the same). The
    history row is written either way, since the fact happened. A driver who becomes available
    gets the waiting orders once this commits. Returns whether the current status changed.
    """
    at = at or timezone.now()
    newer = Q(status_changed_at__lt=at) | Q(status_changed_at=at, status__lt=status)
    applied = Driver.objects.filter(newer, pk=driver_id).update(status=status, status_changed_at=at) > 0
    DriverStatusChange.objects.create(driver_id=driver_id, status=status, created_at=at, event_id=event_id)
    if applied and status == DriverStatus.AVAILABLE:
        transaction.on_commit(lambda: driver_assignable.send(sender=Driver, driver_id=driver_id))
    return applied


@dataclass(frozen=True)
class DriverStatusFact:
    """A driver status that happened `at`, from the event `event_id`."""

    driver_id: int
    status: str
    at: datetime
    event_id: uuid.UUID | None = None


def driver_status_record_batch(*, facts: Sequence[DriverStatusFact]) -> set[int]:
    """`driver_status_record` for many facts at once, ending where recording them one by one would.

    One history row per fact (one INSERT); per driver only the newest fact can end as the current
    status (fact time, then the greater status, as the one-by-one guard orders them), so one guarded
    UPDATE applies each driver's newest fact over an older current one. PostgreSQL picks the newest
    in the same statement, so the order is the database's, as in the guard. A driver whose newest
    fact is AVAILABLE and applied gets the waiting orders once this commits (a fact overtaken in
    the batch would have been overtaken before that commit too). Returns the drivers whose current
    status changed.
    """
    if not facts:
        return set()
    applied: dict[int, str]
    if connection.vendor == "postgresql":
        # Each column as one array: the statements cost the same to build for 2 facts as for 2,000.
        columns: list[Any] = [
            [f.driver_id for f in facts],
            [f.status for f in facts],
            [f.at for f in facts],
            [f.event_id for f in facts],
        ]
        with connection.cursor() as cursor:
            cursor.execute(HISTORY_INSERT_SQL, columns)
            cursor.execute(STATUS_APPLY_NEWEST_SQL, columns[:3])
            applied = dict(cursor.fetchall())
    else:
        DriverStatusChange.objects.bulk_create(
            DriverStatusChange(driver_id=f.driver_id, status=f.status, created_at=f.at, event_id=f.event_id)
            for f in facts
        )
        newest: dict[int, DriverStatusFact] = {}
        for fact in facts:
            held = newest.get(fact.driver_id)
            if held is None or (held.at, held.status) < (fact.at, fact.status):
                newest[fact.driver_id] = fact
        applied = {}
        for fact in newest.values():
            guard = Q(status_changed_at__lt=fact.at) | Q(status_changed_at=fact.at, status__lt=fact.status)
            if Driver.objects.filter(guard, pk=fact.driver_id).update(status=fact.status, status_changed_at=fact.at):
                applied[fact.driver_id] = fact.status
    for driver_id in sorted(applied):
        if applied[driver_id] == DriverStatus.AVAILABLE:
            transaction.on_commit(functools.partial(driver_assignable.send, sender=Driver, driver_id=driver_id))
    return set(applied)


HISTORY_INSERT_SQL = f"""
    INSERT INTO {DriverStatusChange._meta.db_table} (driver_id, status, created_at, event_id)
    SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::uuid[])
"""
# Each driver's newest fact, applied over an older current status.
STATUS_APPLY_NEWEST_SQL = f"""
    UPDATE {Driver._meta.db_table} AS driver SET status = newest.status, status_changed_at = newest.at
    FROM (
        SELECT DISTINCT ON (driver_id) driver_id, status, at
        FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) AS fact (driver_id, status, at)
        ORDER BY driver_id, at DESC, status DESC
    ) AS newest
    WHERE driver.id = newest.driver_id
      AND (driver.status_changed_at < newest.at
           OR (driver.status_changed_at = newest.at AND driver.status < newest.status))
    RETURNING driver.id, driver.status
"""


def driver_open_delivery_lock(*, driver: Driver) -> Delivery | None:
    """The driver's unfinished active delivery, locked for update, if any."""
    return (
        Delivery.objects.select_for_update()
        .filter(driver=driver, is_active=True)
        .exclude(status__in=FINISHED_DELIVERY_STATUSES)
        .first()
    )


def driver_status_publish(*, driver: Driver, status: str, previous_status: str, delivery_id: int | None) -> None:
    """Publish `driver.status_changed`; the strategies write normal data now or leave it to a consumer."""
    context = TransitionContext(
        event_type=EventType.DRIVER_STATUS_CHANGED, event_id=uuid.uuid4(), driver_user=driver.user, driver_status=status
    )
    context.snapshot = {
        "driver": {
            "id": driver.pk,
            "user_id": driver.user_id,
            "name": driver.name,
            "status": status,
            "previous_status": previous_status,
        },
        "changed_at": timezone.now().isoformat(),
        "delivery_id": delivery_id,
        "driver_status": status,
    }
    publish_transition(context, key=driver_key(driver.pk))


# Plain SQL: the app's most frequent write (every 45 s per driver); the ORM took longer to build and compile
# this UPDATE than PostgreSQL took to run it.
LOCATION_UPDATE_SQL = "UPDATE delivery_driver SET latitude = %s, longitude = %s, location_updated_at = %s WHERE id = %s"


def driver_update_location(*, driver: Driver, latitude: float, longitude: float) -> None:
    """updateDriverProfile: the app's periodic location ping (one UPDATE)."""
    fields = validate_location(latitude=latitude, longitude=longitude)
    if fields:
        raise ValidationFailed("Location out of range.", fields=fields)
    database = connections[router.db_for_write(Driver)]
    now = Driver._meta.get_field("location_updated_at").get_db_prep_value(timezone.now(), database)
    with database.cursor() as cursor:
        cursor.execute(LOCATION_UPDATE_SQL, [latitude, longitude, now, driver.pk])
    if driver.status == DriverStatus.AVAILABLE and driver.latitude is None:
        # An available driver without a location could not be assigned until now.
        driver_id = driver.pk
        transaction.on_commit(lambda: driver_assignable.send(sender=Driver, driver_id=driver_id))
