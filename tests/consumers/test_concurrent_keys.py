"""Consumers with `concurrent_keys`: a batch's keys at once, each key's events in order (real broker, real HTTP)."""

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from consumers.models import DeadLetter, ProcessedEvent
from consumers.registry import ConsumerDefinition, get_consumer
from events.envelope import Event
from events.relay import OutboxRelay
from integrations.http import send
from tests.events.samples import publish_driver_events
from tests.http_servers import Recorded, RecordingServer, Reply
from tests.processes import wait_for


class Calls:
    """What the slow service saw: calls per key in arrival order, and how many were in flight at most."""

    def __init__(self, server: RecordingServer, *, delay: float, reply: Callable[[str, int, int], Reply]) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.in_flight_by_key: Counter[str] = Counter()
        self.most_in_flight_for_one_key = 0
        self.arrived: dict[str, list[int]] = defaultdict(list)
        self.delay = delay
        self.reply = reply
        server.answer = self.answer

    def answer(self, request: Recorded) -> Reply:
        key, sequence = request.body["key"], request.body["sequence"]
        with self.lock:
            self.arrived[key].append(sequence)
            attempt = self.arrived[key].count(sequence)
            self.in_flight += 1
            self.in_flight_by_key[key] += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.most_in_flight_for_one_key = max(self.most_in_flight_for_one_key, self.in_flight_by_key[key])
        try:
            time.sleep(self.delay)  # the slow service at work
        finally:
            with self.lock:
                self.in_flight -= 1
                self.in_flight_by_key[key] -= 1
        return self.reply(key, sequence, attempt)


def calling(server: RecordingServer) -> Callable[[Event], None]:
    def handle(event: Event) -> None:
        send("POST", f"{server.url}/close", json={"key": event.key, "sequence": event.data["sequence"]})

    return handle


def ok(key: str, sequence: int, attempt: int) -> Reply:
    return Reply()


def processed(name: str) -> int:
    return ProcessedEvent.objects.filter(consumer=name).count()


def definition(name: str, server: RecordingServer, **options: Any) -> ConsumerDefinition:
    return ConsumerDefinition(
        name=name,
        handlers={"driver.status_changed": calling(server)},
        in_transaction=False,
        concurrent_keys=True,
        retry_backoff_seconds=0.05,
        **options,
    )


def test_the_http_consumers_handle_keys_concurrently() -> None:
    assert get_consumer("waseat").concurrent_keys
    assert get_consumer("customer_notifications").concurrent_keys


def test_concurrent_keys_only_outside_a_transaction() -> None:
    with pytest.raises(ValueError, match="concurrent_keys"):
        ConsumerDefinition(name="bad", handlers={}, concurrent_keys=True)


@pytest.mark.django_db(transaction=True)
def test_a_batchs_keys_are_called_at_once_and_each_keys_events_in_order(kafka, consumer, recording_server):
    calls = Calls(recording_server, delay=0.2, reply=ok)
    publish_driver_events(drivers=12, per_driver=3)
    OutboxRelay().publish_pending()
    consumer(subject := definition("overlapping", recording_server))

    wait_for(lambda: processed("overlapping") == 36, timeout=60, what="36 processed")
    wait_for(lambda: sum(kafka.committed(subject.group, kafka.topic()).values()) == 36, timeout=10, what="commit")
    assert calls.most_in_flight > 1  # different keys' calls overlapped
    assert calls.most_in_flight_for_one_key == 1  # never two of one key at once
    assert dict(calls.arrived) == {f"driver-{n}": [0, 1, 2] for n in range(1, 13)}  # each once, in order


@pytest.mark.django_db(transaction=True)
def test_a_transient_failure_retries_that_event_and_the_other_keys_are_called_once(kafka, consumer, recording_server):
    def reply(key: str, sequence: int, attempt: int) -> Reply:
        if key == "driver-1" and sequence == 1 and attempt <= 2:
            return Reply(status=503)
        return Reply()

    calls = Calls(recording_server, delay=0.05, reply=reply)
    publish_driver_events(drivers=12, per_driver=3)
    OutboxRelay().publish_pending()
    consumer(subject := definition("transient", recording_server))

    wait_for(lambda: processed("transient") == 36, timeout=60, what="36 processed")
    wait_for(lambda: sum(kafka.committed(subject.group, kafka.topic()).values()) == 36, timeout=10, what="commit")
    assert calls.arrived.pop("driver-1") == [0, 1, 1, 1, 2]  # retried in place, the next one after it
    assert dict(calls.arrived) == {f"driver-{n}": [0, 1, 2] for n in range(2, 13)}
    assert calls.most_in_flight_for_one_key == 1
    assert not DeadLetter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_permanent_failure_dead_letters_only_that_event(kafka, consumer, recording_server):
    def reply(key: str, sequence: int, attempt: int) -> Reply:
        return Reply(status=422) if (key, sequence) == ("driver-1", 1) else Reply()

    calls = Calls(recording_server, delay=0.05, reply=reply)
    events = publish_driver_events(drivers=12, per_driver=3)
    OutboxRelay().publish_pending()
    consumer(subject := definition("permanent", recording_server))

    wait_for(lambda: processed("permanent") == 35, timeout=60, what="35 processed")
    wait_for(lambda: sum(kafka.committed(subject.group, kafka.topic()).values()) == 36, timeout=10, what="commit")
    assert calls.arrived.pop("driver-1") == [0, 1, 2]
    assert dict(calls.arrived) == {f"driver-{n}": [0, 1, 2] for n in range(2, 13)}
    failed = next(e for e in events if e.key == "driver-1" and e.data["sequence"] == 1)
    assert list(DeadLetter.objects.values_list("consumer", "event_id", "reason")) == [
        ("permanent", str(failed.id), "permanent")
    ]
