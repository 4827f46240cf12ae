"""The event pipeline seen from the benchmark: waiting for it to settle, and a burst to measure it by."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bench.processes import wait_until
from bench.world import Trip
from consumers.models import ProcessedEvent
from consumers.registry import all_consumers
from consumers.runtime.lag import consumer_lag_report
from delivery.models import Driver
from events.envelope import driver_key
from events.models import OutboxEvent
from events.publishing import publish


def pipeline_settled() -> bool:
    """Every outbox row published and every consumer group caught up (`manage.py consumer_lag`)."""
    if OutboxEvent.objects.filter(published_at__isnull=True).exists():
        return False
    report = consumer_lag_report(definitions=all_consumers(), timeout=5.0)
    return any(group.partitions for group in report) and all(group.lag == 0 for group in report)


def pipeline_settle(*, timeout: float) -> float:
    """Wait for the pipeline to settle; returns the seconds it took."""
    started = time.perf_counter()
    wait_until(pipeline_settled, timeout=timeout, what="the relay and the consumers to catch up", interval=0.25)
    return time.perf_counter() - started


@dataclass(frozen=True)
class BurstResult:
    events: int
    relay_seconds: float  # last event published, from the commit
    consumer_seconds: float  # last event processed by normal_data, from the commit

    @property
    def relay_events_per_second(self) -> float:
        return self.events / self.relay_seconds if self.relay_seconds > 0 else 0.0

    @property
    def consumer_events_per_second(self) -> float:
        return self.events / self.consumer_seconds if self.consumer_seconds > 0 else 0.0


def outbox_burst(*, events: int, drivers: list[Trip], timeout: float) -> BurstResult:
    """Commit `events` driver.status_changed events at once, then time the relay and one consumer.

    The events leave their work to the normal_data consumer, which applies each one in full (the
    status guard, a history row, its ProcessedEvent row). Each repeats the driver's current
    status, so the benchmark's world is the same afterwards.
    """
    statuses = dict(Driver.objects.filter(pk__in={trip.driver_id for trip in drivers}).values_list("pk", "status"))
    started = timezone.now()
    before = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():
        for index in range(events):
            trip = drivers[index % len(drivers)]
            publish(
                event_type="driver.status_changed",
                key=driver_key(trip.driver_id),
                data={
                    "driver": {
                        "id": trip.driver_id,
                        "user_id": trip.user_id,
                        "name": f"Bench Driver {trip.driver_id}",
                        "status": statuses[trip.driver_id],
                        "previous_status": statuses[trip.driver_id],
                    },
                    "changed_at": timezone.now().isoformat(),
                    "delivery_id": None,
                    "driver_status": statuses[trip.driver_id],
                },
            )
    committed = timezone.now()
    burst = OutboxEvent.objects.filter(pk__gt=before, type="driver.status_changed")
    wait_until(
        lambda: not burst.filter(published_at__isnull=True).exists(), timeout=timeout, what="the relay to publish"
    )
    processed = ProcessedEvent.objects.filter(
        consumer="normal_data", event_type="driver.status_changed", processed_at__gte=started
    )
    wait_until(lambda: processed.count() >= events, timeout=timeout, what="normal_data to consume the burst")
    last_published = burst.aggregate(last=Max("published_at"))["last"]
    last_processed = processed.aggregate(last=Max("processed_at"))["last"]
    return BurstResult(
        events=events,
        relay_seconds=_seconds(committed, last_published),
        consumer_seconds=_seconds(committed, last_processed),
    )


def _seconds(start: datetime, end: datetime | None) -> float:
    return max((end - start).total_seconds(), 0.0) if end is not None else 0.0


def relay_latencies(*, albaik_identifiers: list[str], event_types: list[str]) -> list[float]:
    """Seconds from each event's outbox row (written in the request's transaction) to its publication."""
    rows = OutboxEvent.objects.filter(
        albaik_identifier__in=albaik_identifiers, type__in=event_types, published_at__isnull=False
    )
    return [_seconds(created, published) for created, published in rows.values_list("created_at", "published_at")]
