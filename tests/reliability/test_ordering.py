"""Per-key order survives retries: 20 keys x 200 events, with transient failures injected."""

from collections import defaultdict

import pytest
from django.db import transaction

from consumers.models import ProcessedEvent
from consumers.registry import ConsumerDefinition
from events.envelope import Event
from integrations.http import TransientHTTPError
from tests.events.samples import publish_driver_events
from tests.processes import wait_for


@pytest.mark.django_db(transaction=True)
def test_per_key_order_is_kept_with_retries(kafka, relay, consumer):
    applied: dict[str, list[int]] = defaultdict(list)
    failed_once: set[str] = set()

    def handle(event: Event) -> None:
        sequence = event.data["sequence"]
        # Every 7th event of a driver fails on its first attempt.
        if sequence % 7 == 3 and str(event.id) not in failed_once:
            failed_once.add(str(event.id))
            raise TransientHTTPError("HTTP 503") if sequence % 2 else RuntimeError("deadlock detected")
        transaction.on_commit(lambda: applied[event.key].append(sequence))

    definition = ConsumerDefinition(
        name="ordered", handlers={"driver.status_changed": handle}, retry_backoff_seconds=0.001
    )
    consumer(definition)
    relay()
    publish_driver_events(drivers=20, per_driver=200, batch=1000)

    wait_for(
        lambda: ProcessedEvent.objects.filter(consumer="ordered").count() == 4000,
        timeout=120,
        interval=0.5,
        what="4000 events processed",
    )
    assert len(failed_once) == 20 * 29  # retries really happened
    assert set(applied) == {f"driver-{d}" for d in range(1, 21)}
    for key, sequences in applied.items():
        assert sequences == list(range(200)), key
