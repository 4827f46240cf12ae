"""Reads of the outbox."""

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from events.models import OutboxEvent


@dataclass(frozen=True)
class Backlog:
    size: int
    oldest_age_seconds: float
    parked: int = 0


def outbox_backlog() -> Backlog:
    """How many events wait for publication, how long the oldest publishable one has waited, how many are parked."""
    row = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
        size=Count("id", filter=Q(parked_at__isnull=True)),
        oldest=Min("created_at", filter=Q(parked_at__isnull=True)),
        parked=Count("id", filter=Q(parked_at__isnull=False)),
    )
    oldest = row["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    return Backlog(size=row["size"], oldest_age_seconds=max(age, 0.0), parked=row["parked"])


def outbox_unpublished_ids(*, limit: int) -> list[int]:
    """The first publishable (unpublished, not parked) events in publication order."""
    return list(
        OutboxEvent.objects.filter(published_at__isnull=True, parked_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_parked(*, ids: Collection[int] = ()) -> QuerySet[OutboxEvent]:
    """Parked events (all, or those of `ids`), oldest first."""
    parked = OutboxEvent.objects.filter(published_at__isnull=True, parked_at__isnull=False).order_by("id")
    return parked.filter(id__in=list(ids)) if ids else parked
