"""Drain rate of the consumer runtime against the relay, in one run (a measurement, not a test).

    DATABASE_URL=postgres://.../delivery_drain .venv/bin/python -m tests.consumers.drain_rate [--events 5000]

Migrates the database at DATABASE_URL, starts the embedded broker, writes `--events`
`driver.status_changed` events for 20 real drivers to the outbox, times the relay publishing them,
then times each consumer draining them from the topic: `normal_data` (driver status and history
rows) and a consumer whose handler does nothing (the runtime's own cost: parse, ProcessedEvent,
commit). Prints one JSON object with events per second.
"""

import argparse
import json
import os
import threading
import time
import uuid

# Statuses a driver moves through on a trip; AVAILABLE also starts trip assignment after commit.
STATUSES = ("driving_to_restaurant", "waiting_at_restaurant", "driving_to_customer", "available")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from consumers.models import ProcessedEvent
    from consumers.registry import ConsumerDefinition, get_consumer, register
    from consumers.runtime import ConsumerRunner
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
        runner = ConsumerRunner(definition)
        thread = threading.Thread(target=runner.run, daemon=True)
        started = time.perf_counter()
        thread.start()
        first: float | None = None
        while (done := ProcessedEvent.objects.filter(consumer=definition.name).count()) < args.events:
            if done and first is None:
                first = time.perf_counter()
            time.sleep(0.05)
        finished = time.perf_counter()
        runner.request_stop()
        thread.join(30)
        steady = finished - (first or started)
        results[f"{definition.name}_events_per_second"] = round(args.events / steady)
        results[f"{definition.name}_seconds_including_join"] = round(finished - started, 2)
    connection.close()
    broker.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
