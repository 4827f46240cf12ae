"""Valid event data for tests, and publishing many events at once."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from events.envelope import Event, driver_key
from events.publishing import publish


def driver_status_data(*, driver_id: int, sequence: int = 0, status: str = "available") -> dict[str, Any]:
    """`driver.status_changed` data; `sequence` is an extra field tests use to check order."""
    return {
        "driver": {
            "id": driver_id,
            "user_id": 1000 + driver_id,
            "name": f"Driver {driver_id}",
            "status": status,
            "previous_status": "unavailable",
        },
        "changed_at": timezone.now().isoformat(),
        "delivery_id": None,
        "sequence": sequence,
    }


def publish_driver_events(*, drivers: int, per_driver: int, batch: int = 500) -> list[Event]:
    """Publish `per_driver` events for each of `drivers` drivers, interleaved, in committed batches."""
    plan = [(sequence, driver_id) for sequence in range(per_driver) for driver_id in range(1, drivers + 1)]
    events: list[Event] = []
    for start in range(0, len(plan), batch):
        with transaction.atomic():
            for sequence, driver_id in plan[start : start + batch]:
                events.append(
                    publish(
                        event_type="driver.status_changed",
                        key=driver_key(driver_id),
                        data=driver_status_data(driver_id=driver_id, sequence=sequence),
                    )
                )
    return events
