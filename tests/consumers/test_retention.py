"""Retention of the idempotency and effect records: the periodic task prunes what is older than the settings."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from consumers.models import DeadLetter, ProcessedEvent
from consumers.tasks import consumer_records_prune_task
from side_effects.models import EffectKind, EffectPath, EffectRecord


def processed_event(*, days_ago: float) -> ProcessedEvent:
    return ProcessedEvent.objects.create(
        consumer="waseat",
        event_id=uuid.uuid4(),
        event_type="delivery.delivered",
        processed_at=timezone.now() - timedelta(days=days_ago),
    )


def effect(*, days_ago: float) -> EffectRecord:
    return EffectRecord.objects.create(
        albaik_identifier="ALB-1",
        kind=EffectKind.WASEAT_CLOSE,
        path=EffectPath.CONSUMER,
        outcome="ok",
        at=timezone.now() - timedelta(days=days_ago),
    )


def dead_letter(*, offset: int, days_ago: float, cleared: bool) -> DeadLetter:
    at = timezone.now() - timedelta(days=days_ago)
    return DeadLetter.objects.create(
        consumer="waseat",
        topic="delivery-events",
        partition=0,
        offset=offset,
        reason="permanent",
        dead_lettered_at=at,
        cleared_at=at if cleared else None,
    )


@pytest.mark.django_db
def test_the_periodic_task_prunes_records_older_than_the_retention(settings):
    settings.PROCESSED_EVENT_RETENTION_DAYS = 7
    settings.EFFECT_RECORD_RETENTION_DAYS = 30
    old_processed = [processed_event(days_ago=8) for _ in range(3)]
    kept_processed = processed_event(days_ago=6)
    old_effect, kept_effect = effect(days_ago=31), effect(days_ago=29)
    dead_letter(offset=1, days_ago=8, cleared=True)
    counted = dead_letter(offset=2, days_ago=8, cleared=False)  # still counted by the limit: kept
    recent = dead_letter(offset=3, days_ago=1, cleared=True)

    assert consumer_records_prune_task.delay().get() == {
        "processed_events": 3,
        "effect_records": 1,
        "dead_letters": 1,
    }
    assert list(ProcessedEvent.objects.values_list("pk", flat=True)) == [kept_processed.pk]
    assert not ProcessedEvent.objects.filter(pk__in=[p.pk for p in old_processed]).exists()
    assert list(EffectRecord.objects.values_list("pk", flat=True)) == [kept_effect.pk]
    assert not EffectRecord.objects.filter(pk=old_effect.pk).exists()
    assert set(DeadLetter.objects.values_list("pk", flat=True)) == {counted.pk, recent.pk}
    assert consumer_records_prune_task.delay().get() == {"processed_events": 0, "effect_records": 0, "dead_letters": 0}


def test_the_prune_task_is_scheduled_by_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["consumer-records-prune"]
    assert entry["task"] == consumer_records_prune_task.name
    assert entry["schedule"] == settings.RETENTION_PRUNE_SECONDS
