"""Drain rate of the consumer runtime against the relay, in one run (a measurement, not a test).

    DATABASE_URL=postgres://.../delivery_drain .venv/bin/python -m tests.consumers.drain_rate [--events 5000]

Migrates the database at DATABASE_URL, starts the embedded broker, writes `--events`
`driver.status_changed` events for 20 real drivers to the outbox, times the relay publishing them,
then times each consumer draining them from the topic: `normal_data` (driver status and history
rows) and a consumer whose handler does nothing (the runtime's own cost: parse, ProcessedEvent,
commit). Prints one JSON object with events per second.

With `--waseat-ms 120` it also times the `waseat` consumer closing `--waseat-events` orders (one
`waseat.close_requested` each, one key per order) against a local WASEAT stand-in answering after
that many milliseconds: first one call after the other (`concurrent_keys` off), then as deployed
(different orders at once, `CONSUMER_HTTP_CONCURRENCY` threads).
"""

import argparse
import dataclasses
import json
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consumers.registry import ConsumerDefinition

# Statuses a driver moves through on a trip; AVAILABLE also starts trip assignment after commit.
STATUSES = ("driving_to_restaurant", "waiting_at_restaurant", "driving_to_customer", "available")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--waseat-ms", type=float, default=0.0, help="also time waseat against a stand-in this slow")
    parser.add_argument("--waseat-events", type=int, default=240)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from consumers.registry import ConsumerDefinition, get_consumer, register
    from events.broker import embedded_broker_start
    from events.envelope import driver_key
    from events.publishing import publish
    from events.relay import OutboxRelay
    from tests.events.samples import driver_status_data
    from tests.factories import DriverFactory

    broker = embedded_broker_start()
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap_servers
    settings.KAFKA_TOPIC_PREFIX = f"drain{uuid.uuid4().hex[:6]}-"
    drivers = [DriverFactory.create() for _ in range(20)]
    with transaction.atomic():
        for number in range(args.events):
            driver = drivers[number % len(drivers)]
            data = driver_status_data(driver_id=driver.pk, sequence=number, status="available")
            data["driver_status"] = STATUSES[number % len(STATUSES)]
            publish(event_type="driver.status_changed", key=driver_key(driver.pk), data=data)
    started = time.perf_counter()
    relay = OutboxRelay()
    published = 0
    while published < args.events:
        published += relay.publish_pending()
    relay_seconds = time.perf_counter() - started
    results: dict[str, object] = {
        "events": args.events,
        "relay_events_per_second": round(args.events / relay_seconds),
    }
    noop = ConsumerDefinition(name="drain_noop", handlers={"driver.status_changed": lambda event: None})
    register(noop)
    for definition in (get_consumer("normal_data"), noop):
        results.update(drain(definition, args.events))
    if args.waseat_ms:
        results.update(waseat_drain(events=args.waseat_events, delay=args.waseat_ms / 1000))
    connection.close()
    broker.stop()
    print(json.dumps(results))


def drain(definition: "ConsumerDefinition", events: int) -> dict[str, object]:
    """Run the consumer until it has processed `events` events; its steady rate from the first one."""
    from consumers.models import ProcessedEvent
    from consumers.runtime import ConsumerRunner

    runner = ConsumerRunner(definition)
    thread = threading.Thread(target=runner.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    first: float | None = None
    while (done := ProcessedEvent.objects.filter(consumer=definition.name).count()) < events:
        if done and first is None:
            first = time.perf_counter()
        time.sleep(0.05)
    finished = time.perf_counter()
    runner.request_stop()
    thread.join(30)
    steady = finished - (first or started)
    return {
        f"{definition.name}_events_per_second": round(events / steady, 1),
        f"{definition.name}_seconds_including_join": round(finished - started, 2),
    }


def waseat_drain(*, events: int, delay: float) -> dict[str, object]:
    """The waseat consumer against a WASEAT stand-in answering after `delay`, without and with concurrent keys."""
    from django.conf import settings
    from django.db import transaction

    from consumers.registry import get_consumer, register
    from delivery.services.waseat import WASEAT_CLOSE_REQUESTED
    from events.envelope import order_key
    from events.publishing import publish
    from events.relay import OutboxRelay
    from side_effects.models import EffectKind, EffectRecord
    from tests.http_servers import Reply, start_recording_server

    server, httpd = start_recording_server()
    server.answer = lambda request: Reply(delay=delay)
    settings.WASEAT_BASE_URL = server.url
    with transaction.atomic():
        for number in range(1, events + 1):
            order = {
                "id": number,
                "albaik_identifier": f"DRAIN-{number}",
                "total": "42.00",
                "latitude": 24.7,
                "longitude": 46.7,
                "created_at": "2026-01-01T12:00:00+00:00",
                "source": "own_fleet",
                "aggregator_id": None,
            }
            data = {
                "order": order,
                "delivery": {"id": number, "finished_at": "2026-01-01T12:30:00+00:00"},
                "delivered_event_id": str(uuid.uuid4()),
            }
            publish(event_type=WASEAT_CLOSE_REQUESTED, key=order_key(number), data=data)
    relay = OutboxRelay()
    published = 0
    while published < events:
        published += relay.publish_pending()
    deployed = get_consumer("waseat")
    sequential = dataclasses.replace(deployed, name="waseat_sequential", concurrent_keys=False)
    register(sequential)
    results: dict[str, object] = {"waseat_ms": delay * 1000, "waseat_events": events}
    for definition in (sequential, deployed):
        EffectRecord.objects.filter(kind=EffectKind.WASEAT_CLOSE).delete()  # each run closes every order again
        results.update(drain(definition, events))
    httpd.shutdown()
    httpd.server_close()
    return results


if __name__ == "__main__":
    main()
