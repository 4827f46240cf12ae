"""Writes of the outbox made by the relay."""

from collections.abc import Collection
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from events.models import OutboxEvent


def outbox_mark_published(*, ids: Collection[int], at: datetime | None = None) -> int:
    """Mark events published (their delivery report arrived); repeats change nothing."""
    if not ids:
        return 0
    return OutboxEvent.objects.filter(id__in=list(ids), published_at__isnull=True).update(
        published_at=at or timezone.now(), attempts=F("attempts") + 1, last_error=""
    )


def outbox_record_failure(*, ids: Collection[int], error: str) -> int:
    """Count a failed publication attempt; the events stay in the outbox and are sent again."""
    if not ids:
        return 0
    return OutboxEvent.objects.filter(id__in=list(ids), published_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=error[:2000]
    )


def outbox_park(*, ids: Collection[int], error: str) -> int:
    """Set events aside that the broker refuses: the relay skips them, everything behind them flows."""
    if not ids:
        return 0
    return OutboxEvent.objects.filter(id__in=list(ids), published_at__isnull=True, parked_at__isnull=True).update(
        parked_at=timezone.now(), attempts=F("attempts") + 1, last_error=error[:2000]
    )


def outbox_unpark(*, ids: Collection[int]) -> int:
    """Give parked events back to the relay, which sends them next (after their key's later events)."""
    if not ids:
        return 0
    return OutboxEvent.objects.filter(id__in=list(ids), published_at__isnull=True, parked_at__isnull=False).update(
        parked_at=None, attempts=0
    )


def outbox_drop(*, ids: Collection[int]) -> int:
    """Delete parked events for good (an operator's decision: they are never published)."""
    if not ids:
        return 0
    return OutboxEvent.objects.filter(id__in=list(ids), published_at__isnull=True, parked_at__isnull=False).delete()[0]


def outbox_prune(*, older_than: datetime, chunk_size: int = 1000) -> int:
    """Delete events published before `older_than`, in chunks so no statement runs long."""
    deleted = 0
    while True:
        ids = list(
            OutboxEvent.objects.filter(published_at__lt=older_than)
            .order_by("id")
            .values_list("id", flat=True)[:chunk_size]
        )
        if not ids:
            return deleted
        deleted += OutboxEvent.objects.filter(id__in=ids).delete()[0]
