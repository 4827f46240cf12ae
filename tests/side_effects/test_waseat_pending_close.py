"""A WASEAT close the old path owes survives the request's process dying between commit and call.

The request writes the owed close in its own transaction; sending it (or handing it over) clears
it. A close still owed after `WASEAT_CLOSE_PENDING_SECONDS` is handed to the waseat consumer by
the sweeper. A test's dropped on-commit callbacks are exactly a process that died after its commit.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from consumers.waseat import definition as waseat_consumer
from delivery.services.waseat import HANDED_OVER, PENDING, waseat_close_pending_sweep
from delivery.tasks import waseat_close_pending_sweep_task
from events.envelope import Event
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.http_servers import RecordingServer, Reply

NOW = timedelta(0)


def deliver(driver: Any, order: Any) -> None:
    app = DriverClient(driver)
    app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")


def hand_overs() -> list[Event]:
    return [Event.from_json(row.envelope) for row in OutboxEvent.objects.filter(type="waseat.close_requested")]


@pytest.mark.django_db
def test_a_close_owed_by_a_request_that_died_is_handed_over_and_sent_once(
    external: tuple[RecordingServer, RecordingServer],
    driver: Any,
    place_order: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    waseat, _ = external
    order = place_order()
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        deliver(driver, order)  # committed; the process dies before its on-commit callbacks run
    assert after_commit  # the close was left to run after the commit
    assert waseat.to(f"/orders/{order.albaik_identifier}/close") == []
    owed = EffectRecord.objects.get(kind="waseat_close")
    assert (owed.outcome, owed.path) == (PENDING, "request")

    assert waseat_close_pending_sweep(older_than=timedelta(minutes=1)) == 0  # too young: maybe still in flight
    assert waseat_close_pending_sweep(older_than=NOW) == 1
    [event] = hand_overs()
    assert event.key == f"driver-{driver.pk}"
    assert event.data["order"]["albaik_identifier"] == order.albaik_identifier
    delivered = OutboxEvent.objects.get(type="delivery.delivered")
    assert event.data["delivered_event_id"] == str(delivered.event_id)
    owed.refresh_from_db()
    assert owed.outcome == HANDED_OVER

    waseat_consumer.handlers[event.type](event)
    assert len(waseat.to(f"/orders/{order.albaik_identifier}/close")) == 1
    assert waseat_close_pending_sweep(older_than=NOW) == 0  # handed over once
    assert len(hand_overs()) == 1


@pytest.mark.django_db
def test_a_close_sent_by_the_request_leaves_nothing_owed(
    external: tuple[RecordingServer, RecordingServer],
    driver: Any,
    place_order: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    waseat, _ = external
    order = place_order()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(driver, order)
    assert len(waseat.to(f"/orders/{order.albaik_identifier}/close")) == 1
    assert list(EffectRecord.objects.filter(kind="waseat_close").values_list("outcome", flat=True)) == ["ok"]
    assert waseat_close_pending_sweep(older_than=NOW) == 0
    assert hand_overs() == []


@pytest.mark.django_db
def test_a_close_that_failed_in_the_request_is_handed_over_by_it_not_again_by_the_sweeper(
    external: tuple[RecordingServer, RecordingServer],
    driver: Any,
    place_order: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    waseat, _ = external
    waseat.then(Reply(status=503))
    order = place_order()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(driver, order)
    assert len(hand_overs()) == 1
    assert list(EffectRecord.objects.filter(kind="waseat_close").values_list("outcome", flat=True)) == ["failed"]
    assert waseat_close_pending_sweep(older_than=NOW) == 0
    assert len(hand_overs()) == 1


@pytest.mark.django_db
def test_an_owed_close_already_sent_is_cleared_not_handed_over(
    external: tuple[RecordingServer, RecordingServer],
    driver: Any,
    place_order: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The close went out but the process died before clearing what it owed: nothing is sent again."""
    order = place_order()
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        deliver(driver, order)
    EffectRecord.objects.create(
        albaik_identifier=order.albaik_identifier, kind="waseat_close", path="request", outcome="ok"
    )
    assert after_commit
    assert waseat_close_pending_sweep(older_than=NOW) == 0
    assert hand_overs() == []
    assert not EffectRecord.objects.filter(outcome=PENDING).exists()


@pytest.mark.django_db
def test_the_sweep_is_a_periodic_task(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["waseat-close-pending-sweep"]
    assert entry["task"] == waseat_close_pending_sweep_task.name
    assert entry["schedule"] == settings.WASEAT_CLOSE_SWEEP_SECONDS
    assert waseat_close_pending_sweep_task.delay().get() == 0


def test_the_sweeper_waits_longer_than_a_request_can_spend_closing() -> None:
    longest_close = settings.HTTP_CLIENT_MAX_ATTEMPTS * settings.HTTP_CLIENT_TIMEOUT_SECONDS
    assert longest_close < settings.WASEAT_CLOSE_PENDING_SECONDS
