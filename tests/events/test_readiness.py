"""`/readyz` says not ready while the relay cannot publish, from the outbox alone (the relay runs elsewhere)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import OutboxEvent
from tests.events.samples import publish_driver_events


@pytest.mark.django_db
def test_ready_while_the_outbox_moves_not_ready_when_its_oldest_event_waits_too_long(client, settings):
    settings.OUTBOX_READY_MAX_AGE_SECONDS = 30
    publish_driver_events(drivers=1, per_driver=2)
    fresh = client.get("/readyz")
    assert fresh.status_code == 200
    assert fresh.json()["relay"]["publishing"] is True

    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=31))
    stuck = client.get("/readyz")
    assert stuck.status_code == 503
    assert stuck.json()["status"] == "unavailable"
    assert stuck.json()["relay"] == {
        "ok": False,
        "ready": False,
        "publishing": False,
        "backlog": 2,
        "oldest_unpublished_age_seconds": pytest.approx(31, abs=5),
        "parked": 0,
    }

    OutboxEvent.objects.update(published_at=timezone.now())
    assert client.get("/readyz").status_code == 200
