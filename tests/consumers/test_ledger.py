"""The idempotency ledger: one statement records a batch and says which of its events are new."""

import threading
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction

from consumers.models import ProcessedEvent
from consumers.runtime.ledger import Batch, Entry, ledger_claim, ledger_record, ledger_seen
from tests.processes import wait_for


def batch_of(consumer: str, event_ids: list[uuid.UUID], *, first_offset: int = 0) -> Batch:
    entries = [Entry(event_id, "driver.status_changed", first_offset + n) for n, event_id in enumerate(event_ids)]
    return Batch(consumer=consumer, topic="t", partition=3, at=datetime.now(UTC), entries=entries)


@pytest.mark.django_db
def test_a_claim_returns_the_new_events_once_and_records_where_they_were_read() -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    ledger_record(batch_of("c", [old]))

    claimed = ledger_claim(batch_of("c", [old, new, new], first_offset=10))

    assert claimed == {new}
    assert ledger_seen("c", [old, new, uuid.uuid4()]) == {old, new}
    assert ledger_seen("other", [old, new]) == set()
    row = ProcessedEvent.objects.get(event_id=new)
    assert (row.consumer, row.event_type, row.topic, row.partition, row.offset) == (
        "c",
        "driver.status_changed",
        "t",
        3,
        11,
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_another_member_is_handling_is_claimed_by_one_of_them_only() -> None:
    """Member B's claim waits for member A's transaction; once A commits, B finds nothing new."""
    events = [uuid.uuid4() for _ in range(5)]
    b_pid: list[int] = []
    b_claimed: list[set[uuid.UUID]] = []

    def member_b() -> None:
        try:
            with transaction.atomic():
                b_pid.append(connection.connection.info.backend_pid)
                b_claimed.append(ledger_claim(batch_of("shared", events)))
        finally:
            connections.close_all()

    def b_waits_for_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [b_pid[0]])
            return cursor.fetchone()[0] > 0

    with transaction.atomic():
        assert ledger_claim(batch_of("shared", events)) == set(events)  # A holds the rows, uncommitted
        other = threading.Thread(target=member_b)
        other.start()
        wait_for(lambda: b_pid, timeout=10, what="member B to start")
        wait_for(b_waits_for_a_lock, timeout=10, what="member B's claim to wait for A")
    other.join(10)

    assert b_claimed == [set()]
    assert ProcessedEvent.objects.filter(consumer="shared").count() == len(events)


@pytest.mark.django_db(transaction=True)
def test_a_claim_rolled_back_with_its_effects_leaves_the_events_new() -> None:
    events = [uuid.uuid4(), uuid.uuid4()]
    claimed: list[set[uuid.UUID]] = []

    def batch_whose_handler_fails() -> None:
        with transaction.atomic():
            claimed.append(ledger_claim(batch_of("c", events)))
            raise RuntimeError("a handler failed")

    with pytest.raises(RuntimeError):
        batch_whose_handler_fails()

    assert claimed == [set(events)]
    assert ledger_claim(batch_of("c", events)) == set(events)
