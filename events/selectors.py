"""Reads of the outbox."""

from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from events.models import OutboxEvent


@dataclass(frozen=True)
class Backlog:
    size: int
    oldest_age_seconds: float


def outbox_backlog() -> Backlog:
    """How many events wait for publication, and how long the oldest has waited."""
    row = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(size=Count("id"), oldest=Min("created_at"))
    oldest = row["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    return Backlog(size=row["size"], oldest_age_seconds=max(age, 0.0))


def outbox_unpublished_ids(*, limit: int) -> list[int]:
    """The first unpublished events in publication order."""
    return list(
        OutboxEvent.objects.filter(published_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit]
    )
