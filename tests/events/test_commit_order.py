"""Per-key order is commit order: two writers of one key that lock different rows cannot overtake."""

import json
import threading

import pytest
from django.db import connection, transaction

from delivery.models import Driver
from events.envelope import driver_key
from events.publishing import publish
from events.relay import OutboxRelay
from tests.events.samples import driver_status_data
from tests.factories import DriverFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_a_later_writer_of_the_key_waits_for_the_earlier_one_to_commit(kafka, round_):
    first_row, second_row = DriverFactory.create(), DriverFactory.create()
    key = driver_key(first_row.pk)
    first_wrote, second_wrote, first_committing = threading.Event(), threading.Event(), threading.Event()
    saw: list[bool] = []

    def first() -> None:
        try:
            with transaction.atomic():
                Driver.objects.select_for_update().get(pk=first_row.pk)
                publish(event_type="driver.status_changed", key=key, data=driver_status_data(driver_id=1, sequence=0))
                first_wrote.set()
                second_wrote.wait(0.5)  # without the key lock the second writer commits meanwhile
                first_committing.set()
        finally:
            connection.close()

    def second() -> None:
        try:
            first_wrote.wait(5)
            with transaction.atomic():
                Driver.objects.select_for_update().get(pk=second_row.pk)  # a different row: no row lock waits
                publish(event_type="driver.status_changed", key=key, data=driver_status_data(driver_id=1, sequence=1))
                saw.append(first_committing.is_set())
                second_wrote.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    # The second insert waited until the first transaction was committing: commit order = outbox order.
    assert saw == [True]
    assert OutboxRelay().publish_pending(timeout=20) == 2
    sequences = [
        json.loads(message.value())["data"]["sequence"]
        for message in kafka.read(kafka.topic())
        if message.key() == key.encode()
    ]
    assert sequences == [0, 1]
