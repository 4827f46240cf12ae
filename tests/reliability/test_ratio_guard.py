"""A bad deploy must not drain the topic into the dead-letter topic."""

import signal

import pytest
from django.core.management import CommandError, call_command

from consumers.errors import PermanentFailure
from consumers.registry import ConsumerDefinition, register
from events.envelope import Event
from events.relay import OutboxRelay
from tests.events.samples import publish_driver_events


def broken_handler(event: Event) -> None:
    raise PermanentFailure("every message fails after a bad deploy")


@pytest.mark.django_db(transaction=True)
def test_ratio_guard_stops_the_consumer_with_a_clear_error(kafka):
    definition = ConsumerDefinition(
        name="guarded", handlers={"driver.status_changed": broken_handler}, dlq_ratio_limit=0.5, dlq_ratio_window=10
    )
    register(definition)
    publish_driver_events(drivers=3, per_driver=10)
    assert OutboxRelay().publish_pending() == 30

    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(CommandError) as caught:
        call_command("consume", "guarded")
    assert caught.value.returncode == 3
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers

    # It stopped at the 10th failure: 9 dead letters, and the 10th neither dead-lettered nor committed.
    assert len(kafka.read(definition.dlq_topic)) == 9
    assert sum(kafka.committed(definition.group, kafka.topic()).values()) == 9
