"""The relay while the broker is unreachable: nothing is lost, nothing is sent twice."""

from collections import Counter

import pytest
from prometheus_client import REGISTRY

from events.models import OutboxEvent
from tests.events.samples import publish_driver_events
from tests.kafka import TCPGate
from tests.processes import wait_for


@pytest.mark.django_db(transaction=True)
def test_events_written_while_the_broker_is_unreachable_are_all_delivered_once(kafka, relay):
    gate = TCPGate(kafka.bootstrap)  # closed: connections to the broker are refused
    relay_runner = relay(bootstrap=gate.address)
    events = publish_driver_events(drivers=20, per_driver=25, batch=100)
    assert len(events) == 500

    # The relay took the events and keeps retrying; the requests that wrote them never waited.
    wait_for(lambda: REGISTRY.get_sample_value("outbox_backlog_events") == 500, timeout=10, what="backlog gauge")
    assert relay_runner.running
    assert not OutboxEvent.objects.filter(published_at__isnull=False).exists()

    gate.open()
    try:
        wait_for(
            lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
            timeout=30,
            what="every event published",
        )
    finally:
        gate.close()

    messages = kafka.read(kafka.topic())
    sent = Counter(dict(m.headers())["event_id"].decode() for m in messages)
    assert sent == Counter(str(event.id) for event in events)  # each exactly once
    for driver_id in range(1, 21):
        key = f"driver-{driver_id}".encode()
        order = [m.value() for m in messages if m.key() == key]
        assert order == [e.to_json() for e in events if e.key.encode() == key]
    wait_for(lambda: REGISTRY.get_sample_value("outbox_backlog_events") == 0, timeout=10, what="backlog drained")
