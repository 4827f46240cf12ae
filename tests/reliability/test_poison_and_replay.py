"""A poison message goes to the dead-letter topic, the bug is fixed, and the replay processes it."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from consumers.errors import PermanentFailure
from consumers.models import ProcessedEvent
from consumers.registry import ConsumerDefinition
from events.envelope import Event
from events.relay import OutboxRelay
from tests.events.samples import publish_driver_events
from tests.processes import wait_for


def replay(*args: str) -> dict:
    out = StringIO()
    call_command("replay_dead_letters", "poison", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_poison_message_dead_lettered_fixed_replayed_processed(kafka, consumer):
    broken = {"driver-3"}

    def handle(event: Event) -> None:
        if event.key in broken:
            raise PermanentFailure("driver 3 is unknown downstream")

    definition = ConsumerDefinition(name="poison", handlers={"driver.status_changed": handle})
    events = publish_driver_events(drivers=5, per_driver=1)
    poison = next(e for e in events if e.key == "driver-3")
    OutboxRelay().publish_pending()
    runner = consumer(definition)

    wait_for(lambda: len(kafka.read(definition.dlq_topic)) == 1, timeout=30, what="the dead letter")
    wait_for(lambda: ProcessedEvent.objects.filter(consumer="poison").count() == 4, timeout=10, what="the others")
    [letter] = kafka.read(definition.dlq_topic)
    headers = {name: value.decode() for name, value in letter.headers()}
    assert headers["event_id"] == str(poison.id)
    assert headers["consumer"] == "poison"
    assert headers["attempts"] == "1"
    assert headers["error"].startswith("PermanentFailure")
    [original] = [m for m in kafka.read(kafka.topic()) if m.value() == poison.to_json()]
    assert (headers["original_partition"], headers["original_offset"]) == (
        str(original.partition()),
        str(original.offset()),
    )
    assert letter.value() == poison.to_json()

    broken.clear()  # the fix is deployed

    dry = replay("--dry-run")
    assert dry["count"] == 1
    assert dry["dead_letters"][0]["event_id"] == str(poison.id)
    assert len(kafka.read(kafka.topic())) == 5  # a dry run changes nothing

    assert replay()["count"] == 1
    wait_for(
        lambda: ProcessedEvent.objects.filter(consumer="poison", event_id=poison.id).exists(),
        timeout=20,
        what="the replayed event processed",
    )
    assert replay()["count"] == 0  # each dead letter is replayed once
    assert len(kafka.read(definition.dlq_topic)) == 1
    runner.stop()


@pytest.mark.django_db(transaction=True)
def test_replay_limit(kafka, consumer):
    def reject(event: Event) -> None:
        raise PermanentFailure("rejected")

    definition = ConsumerDefinition(
        name="poison", handlers={"driver.status_changed": reject}, dlq_ratio_limit=1.0, dlq_ratio_window=100
    )
    publish_driver_events(drivers=3, per_driver=1)
    OutboxRelay().publish_pending()
    runner = consumer(definition)
    wait_for(lambda: len(kafka.read(definition.dlq_topic)) == 3, timeout=30, what="three dead letters")
    runner.stop()
    assert replay("--limit", "2")["count"] == 2
    assert replay()["count"] == 1
    assert replay()["count"] == 0
