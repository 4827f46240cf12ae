"""Consumers write a batch in a few statements, ending where handling its events one by one would.

The runtime hands a consumer's `batch_handler` the batch's events still to do; for normal_data
that is `DriverStatus.in_consumer_batch`: one history insert, one guarded update of each driver's
newest fact. Out-of-order facts, several per driver, shared times and redelivered batches must
give the same status and the same history as the one-by-one path (`driver_status_record`).
The dashboard consumer writes its batch's broadcast records in one insert (`batch_context`).
"""

import itertools
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from arroyo.backends.kafka import KafkaPayload
from arroyo.dlq import DlqLimit
from arroyo.types import BrokerValue, Partition, Topic
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.models import ProcessedEvent
from consumers.normal_data import definition as normal_data
from consumers.registry import ConsumerDefinition
from consumers.restaurant_dashboard import definition as restaurant_dashboard
from consumers.runtime.dead_letter_limit import DeadLetterLimit
from consumers.runtime.health import ProgressHealth
from consumers.runtime.strategy import ConsumerStrategy, Item, LoopState, RuntimeSettings
from delivery.models import Driver, DriverStatus, DriverStatusChange
from delivery.services.drivers import DriverStatusFact, driver_status_record, driver_status_record_batch
from events.envelope import Event, driver_key
from events.types import EventType
from side_effects.models import EffectKind, EffectPath, EffectRecord
from tests.events.samples import driver_status_data

DRIVER_STATUSES = [s.value for s in DriverStatus]
DB_EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def status_event(*, driver_id: int, status: str, at: datetime, handled: tuple[str, ...] = ()) -> Event:
    data = driver_status_data(driver_id=driver_id)
    data["driver_status"] = status
    return Event(
        id=uuid.uuid4(),
        type=EventType.DRIVER_STATUS_CHANGED,
        version=1,
        occurred_at=at,
        key=driver_key(driver_id),
        handled_synchronously=handled,
        data=data,
    )


def strategy_for(definition: ConsumerDefinition) -> ConsumerStrategy:
    """The runtime's strategy, driven directly: `_apply` handles a batch without a broker."""
    loop_and_health = SimpleNamespace(
        loop=LoopState(), health=ProgressHealth(consumer=definition.name, path=Path("/dev/null"), stall_seconds=60)
    )
    return ConsumerStrategy(
        definition=definition,
        settings=RuntimeSettings(
            batch_size=500, max_buffered=1000, max_attempts=5, backoff=0.1, statement_timeout_ms=30000
        ),
        limit=DeadLetterLimit(consumer=definition.name, limit=DlqLimit(), window=50),
        commit=lambda offsets, force=False: None,
        consumer=loop_and_health,  # type: ignore[arg-type]
    )


def items_of(strategy: ConsumerStrategy, events: list[Event], *, first_offset: int = 0) -> list[Item]:
    """The messages as the runtime reads them (events done in the request get no handler)."""
    partition = Partition(Topic("delivery-events"), 0)
    return [
        strategy._classify(
            BrokerValue(KafkaPayload(event.key.encode(), event.to_json(), []), partition, offset, timezone.now())
        )
        for offset, event in enumerate(events, start=first_offset)
    ]


def state_of(drivers: list[Driver]) -> list[tuple[str, datetime]]:
    return [
        (driver.status, driver.status_changed_at)
        for driver in Driver.objects.filter(pk__in=[d.pk for d in drivers]).order_by("pk")
    ]


def history_of(driver: Driver) -> list[tuple[str, datetime]]:
    return sorted(DriverStatusChange.objects.filter(driver=driver).values_list("status", "created_at"))


@pytest.mark.django_db
@DB_EXAMPLES
@given(
    facts=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 4), st.sampled_from(DRIVER_STATUSES)), min_size=1, max_size=12
    ),
    cuts=st.lists(st.integers(0, 12), max_size=3),
    start_offset=st.integers(-2, 5),
)
def test_batches_end_where_one_by_one_does_for_any_order_split_and_shared_times(
    make_driver: Any, facts: list[tuple[int, int, str]], cuts: list[int], start_offset: int
) -> None:
    """Facts of three drivers, in any order, several sharing a time, cut into batches anywhere; the
    drivers' current facts start somewhere among them. Bulk and one by one end the same."""
    start = timezone.now().replace(microsecond=0)
    began = start + timedelta(seconds=start_offset)
    bulk = [make_driver(status=DriverStatus.UNAVAILABLE, status_changed_at=began) for _ in range(3)]
    single = [make_driver(status=DriverStatus.UNAVAILABLE, status_changed_at=began) for _ in range(3)]
    timed = [(driver, start + timedelta(seconds=second), status) for driver, second, status in facts]

    for driver, at, status in timed:
        with transaction.atomic():
            driver_status_record(driver_id=single[driver].pk, status=status, at=at)
    bounds = sorted({0, len(timed), *(cut for cut in cuts if cut <= len(timed))})
    for low, high in itertools.pairwise(bounds):
        with transaction.atomic():
            driver_status_record_batch(
                facts=[DriverStatusFact(driver_id=bulk[d].pk, status=s, at=at) for d, at, s in timed[low:high]]
            )

    assert [status for status, _ in state_of(bulk)] == [status for status, _ in state_of(single)]
    assert [at for _, at in state_of(bulk)] == [at for _, at in state_of(single)]
    assert [history_of(driver) for driver in bulk] == [history_of(driver) for driver in single]


@pytest.mark.django_db
def test_a_batch_with_facts_at_the_same_time_ends_where_one_by_one_does(make_driver: Any) -> None:
    now = timezone.now() + timedelta(minutes=1)
    plan = [(0, "available", 3), (1, "accident", 1), (0, "waiting_at_restaurant", 4), (1, "available", 2)]
    plan += [(0, "driving_to_customer", 1), (1, "unavailable", 2), (0, "available", 4)]
    bulk = [make_driver(status=DriverStatus.UNAVAILABLE) for _ in range(2)]
    single = [make_driver(status=DriverStatus.UNAVAILABLE) for _ in range(2)]
    timed = [(d, status, now + timedelta(seconds=second)) for d, status, second in plan]

    with transaction.atomic():
        applied = driver_status_record_batch(
            facts=[DriverStatusFact(driver_id=bulk[d].pk, status=status, at=at) for d, status, at in timed]
        )
    for d, status, at in timed:
        with transaction.atomic():
            driver_status_record(driver_id=single[d].pk, status=status, at=at)

    assert applied == {driver.pk for driver in bulk}
    assert (
        state_of(bulk)
        == state_of(single)
        == [
            ("waiting_at_restaurant", now + timedelta(seconds=4)),
            ("unavailable", now + timedelta(seconds=2)),
        ]
    )
    assert [history_of(driver) for driver in bulk] == [history_of(driver) for driver in single]


@pytest.mark.django_db
def test_a_batch_with_late_facts_and_a_redelivery_writes_each_fact_once(make_driver: Any) -> None:
    drivers = [make_driver(status=DriverStatus.UNAVAILABLE) for _ in range(3)]
    now = timezone.now() + timedelta(minutes=1)
    plan = [
        (0, DriverStatus.DRIVING_TO_RESTAURANT, 1),
        (0, DriverStatus.DRIVING_TO_CUSTOMER, 3),
        (0, DriverStatus.WAITING_AT_RESTAURANT, 2),  # late: older than the one before it
        (1, DriverStatus.AVAILABLE, 5),
        (1, DriverStatus.ACCIDENT, 4),  # late
        (2, DriverStatus.UNAVAILABLE, 1),
        (2, DriverStatus.AVAILABLE, 1),  # the same time: the greater status ("unavailable") stays
    ]
    events = [status_event(driver_id=drivers[d].pk, status=s, at=now + timedelta(seconds=sec)) for d, s, sec in plan]
    done_in_request = status_event(driver_id=drivers[2].pk, status="accident", at=now, handled=("driver_status",))
    strategy = strategy_for(normal_data)

    assert strategy._apply(items_of(strategy, [*events, done_in_request])) == (len(events) + 1, None)
    # Redelivered: the whole batch, then the batch again with one new event behind it.
    assert strategy._apply(items_of(strategy, events)) == (len(events), None)
    later = status_event(driver_id=drivers[1].pk, status=DriverStatus.UNAVAILABLE, at=now + timedelta(seconds=9))
    assert strategy._apply(items_of(strategy, [*events, later])) == (len(events) + 1, None)

    assert state_of(drivers) == [
        (DriverStatus.DRIVING_TO_CUSTOMER, now + timedelta(seconds=3)),
        (DriverStatus.UNAVAILABLE, now + timedelta(seconds=9)),
        (DriverStatus.UNAVAILABLE, now + timedelta(seconds=1)),
    ]
    history = DriverStatusChange.objects.values_list("event_id", flat=True)
    assert sorted(str(event_id) for event_id in history) == sorted(str(event.id) for event in [*events, later])
    processed = ProcessedEvent.objects.filter(consumer="normal_data").values_list("event_id", flat=True)
    assert sorted(processed) == sorted(event.id for event in [*events, later])


@pytest.mark.django_db
@pytest.mark.parametrize(("events", "drivers"), [(2, 1), (40, 4), (300, 10)])
def test_a_batch_costs_the_same_statements_whatever_its_size(make_driver: Any, events: int, drivers: int) -> None:
    """SET LOCAL statement_timeout, the ledger's claim (records the batch, answers which events are
    new), the history insert, the status update; plus the test transaction's savepoint and its release."""
    people = [make_driver(status=DriverStatus.UNAVAILABLE) for _ in range(drivers)]
    now = timezone.now() + timedelta(minutes=1)
    batch = [
        status_event(
            driver_id=people[n % drivers].pk,
            status=random.choice([DriverStatus.DRIVING_TO_RESTAURANT, DriverStatus.WAITING_AT_RESTAURANT]),
            at=now + timedelta(milliseconds=random.randrange(events)),
        )
        for n in range(events)
    ]
    strategy = strategy_for(normal_data)

    with CaptureQueriesContext(connection) as captured:
        assert strategy._apply(items_of(strategy, batch)) == (events, None)
    assert len(captured) == 6, [query["sql"][:60] for query in captured]
    assert DriverStatusChange.objects.count() == events

    with CaptureQueriesContext(connection) as captured:  # redelivered: the claim finds all done, nothing written
        assert strategy._apply(items_of(strategy, batch)) == (events, None)
    assert len(captured) == 4, [query["sql"][:60] for query in captured]
    assert DriverStatusChange.objects.count() == events


@pytest.mark.django_db
def test_a_failing_batch_is_handled_again_one_event_at_a_time_and_blames_the_bad_one(make_driver: Any) -> None:
    driver = make_driver(status=DriverStatus.UNAVAILABLE)
    now = timezone.now() + timedelta(minutes=1)
    good = [
        status_event(driver_id=driver.pk, status=DriverStatus.DRIVING_TO_RESTAURANT, at=now),
        status_event(driver_id=driver.pk, status=DriverStatus.WAITING_AT_RESTAURANT, at=now + timedelta(seconds=1)),
    ]
    too_long = status_event(driver_id=driver.pk, status="x" * 41, at=now + timedelta(seconds=2))  # over the column
    behind = status_event(driver_id=driver.pk, status=DriverStatus.AVAILABLE, at=now + timedelta(seconds=3))
    strategy = strategy_for(normal_data)

    done, failure = strategy._apply(items_of(strategy, [*good, too_long, behind]))

    assert done == 2
    assert failure is not None
    assert failure[0].event == too_long
    assert state_of([driver]) == [(DriverStatus.WAITING_AT_RESTAURANT, now + timedelta(seconds=1))]
    assert sorted(ProcessedEvent.objects.values_list("event_id", flat=True)) == sorted(e.id for e in good)


def test_a_batch_handler_needs_a_transaction() -> None:
    with pytest.raises(ValueError, match="in_transaction"):
        ConsumerDefinition(name="x", handlers={}, in_transaction=False, batch_handler=lambda events: None)


def preparation_event(number: int) -> Event:
    data = {
        "order": {"albaik_identifier": f"A-{number}"},
        "branch": {"id": 1},
        "delivery": {"status": "assigned"},
        "preparation": {"id": number, "status": "printed"},
    }
    at = timezone.now()
    return Event(uuid.uuid4(), EventType.TRIP_ASSIGNED, 1, at, driver_key(number), (), data)


@pytest.mark.django_db
def test_a_dashboard_batch_writes_its_records_in_one_insert_each_stamped_when_its_broadcast_left() -> None:
    strategy = strategy_for(restaurant_dashboard)
    events = [preparation_event(number) for number in range(6)]
    partition = Partition(Topic("delivery-events"), 0)
    handler = restaurant_dashboard.handlers[EventType.TRIP_ASSIGNED]
    items = [
        Item(BrokerValue(KafkaPayload(None, e.to_json(), []), partition, n, timezone.now()), e, handler)
        for n, e in enumerate(events)
    ]
    started = timezone.now()

    with CaptureQueriesContext(connection) as captured:
        assert strategy._apply(items) == (len(events), None)

    # SET statement_timeout, the ledger read, the records, the ledger rows.
    assert len(captured) == 4, [query["sql"][:60] for query in captured]
    records = list(EffectRecord.objects.order_by("id"))
    assert [(r.event_id, r.kind, r.path, r.outcome) for r in records] == [
        (e.id, EffectKind.BROADCAST, EffectPath.CONSUMER, "ok") for e in events
    ]
    stamps = [r.at for r in records]
    assert stamps == sorted(stamps)
    assert started <= stamps[0]
    assert ProcessedEvent.objects.filter(consumer="restaurant_dashboard").count() == len(events)
