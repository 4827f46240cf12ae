"""Writes of the consumer app outside the run loop: pruning old idempotency and effect records."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Model, QuerySet
from django.utils import timezone

from consumers.models import DeadLetter, ProcessedEvent
from side_effects.models import EffectRecord

PRUNE_CHUNK = 5000


@dataclass(frozen=True)
class Pruned:
    processed_events: int
    effect_records: int
    dead_letters: int


def _delete_in_chunks(rows: "QuerySet[Model]") -> int:
    """Delete in short transactions so pruning never holds many row locks for long."""
    deleted = 0
    while ids := list(rows.values_list("pk", flat=True)[:PRUNE_CHUNK]):
        deleted += rows.model._default_manager.filter(pk__in=ids).delete()[0]
    return deleted


def consumer_records_prune(
    *, processed_event_days: float | None = None, effect_record_days: float | None = None
) -> Pruned:
    """Delete `ProcessedEvent` rows (and cleared `DeadLetter` rows) older than
    `PROCESSED_EVENT_RETENTION_DAYS`, and `EffectRecord` rows older than `EFFECT_RECORD_RETENTION_DAYS`.

    A redelivery older than the retention would be applied again, so keep it well above the longest
    time a message can wait in Kafka (topic retention) or a dead-letter topic before a replay.
    """
    now = timezone.now()
    processed_days = settings.PROCESSED_EVENT_RETENTION_DAYS if processed_event_days is None else processed_event_days
    effect_days = settings.EFFECT_RECORD_RETENTION_DAYS if effect_record_days is None else effect_record_days
    processed_cutoff = now - timedelta(days=processed_days)
    return Pruned(
        processed_events=_delete_in_chunks(ProcessedEvent.objects.filter(processed_at__lt=processed_cutoff)),
        effect_records=_delete_in_chunks(EffectRecord.objects.filter(at__lt=now - timedelta(days=effect_days))),
        dead_letters=_delete_in_chunks(
            DeadLetter.objects.filter(cleared_at__isnull=False, dead_lettered_at__lt=processed_cutoff)
        ),
    )
