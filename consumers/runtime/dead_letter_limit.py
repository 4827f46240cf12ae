"""The per-partition dead-letter limit, kept in the database so a restart does not reset it.

arroyo's `DlqLimit` says what the limit is (a ratio of invalid messages and a number of
consecutive ones, per partition). Its own state lives in memory and, in arroyo 2.48, a message
over the limit is logged and dropped (`StreamProcessor._handle_invalid_message` catches the
"Dlq limit exceeded" error and commits past the message). Here the runtime asks before it
dead-letters: over the limit, the consumer stops instead, with the message neither
dead-lettered nor committed, and every restart stops at the same message until the cause is
fixed or an operator resets the limit (`manage.py dead_letter_limit <consumer> --reset`).
"""

from dataclasses import dataclass
from typing import Any

from arroyo.dlq import DlqLimit
from django.db.models import QuerySet
from django.utils import timezone

from consumers.models import DeadLetter


class ConsumerHalted(RuntimeError):
    """The consumer stopped itself; the message that tripped the limit was neither dead-lettered nor committed."""


@dataclass(frozen=True)
class DeadLetterLimit:
    """Over the last `window` offsets of a partition, at most `limit.max_invalid_ratio` may be
    dead letters, and at most `limit.max_consecutive_count` in a row. A ratio is judged once the
    window holds `min_samples` messages, so one early failure does not stop a fresh partition."""

    consumer: str
    limit: DlqLimit
    window: int

    @property
    def min_samples(self) -> int:
        return min(self.window, 10)

    def exceeded_by(self, *, topic: str, partition: int, offset: int) -> str | None:
        """Would dead-lettering this message break the limit? Returns why, or None."""
        start = max(offset - self.window + 1, 0)
        earlier = set(
            _counted(self.consumer)
            .filter(topic=topic, partition=partition, offset__gte=start, offset__lt=offset)
            .values_list("offset", flat=True)
        )
        failed = len(earlier) + 1
        seen = offset - start + 1
        ratio = self.limit.max_invalid_ratio
        if ratio is not None and seen >= self.min_samples and failed / seen >= ratio:
            return f"{failed} of the last {seen} messages of {topic}[{partition}] failed (limit {ratio:.0%})"
        consecutive = self.limit.max_consecutive_count
        if consecutive is not None and consecutive < self.window:
            run = 1
            while offset - run in earlier:
                run += 1
            if run > consecutive:
                return f"{run} messages in a row of {topic}[{partition}] failed (limit {consecutive})"
        return None


def _counted(consumer: str) -> "QuerySet[DeadLetter]":
    return DeadLetter.objects.filter(consumer=consumer, cleared_at__isnull=True)


def dead_letter_limit_reset(*, consumer: str, partition: int | None = None) -> int:
    """Stop counting a consumer's dead letters so far towards its limit; returns how many were cleared."""
    rows = _counted(consumer)
    if partition is not None:
        rows = rows.filter(partition=partition)
    return rows.update(cleared_at=timezone.now())


def dead_letter_counts(*, consumer: str) -> list[dict[str, Any]]:
    """Dead letters still counted towards the limit, per topic and partition."""
    from django.db.models import Count, Max

    return [
        dict(row)
        for row in _counted(consumer)
        .values("topic", "partition")
        .annotate(dead_letters=Count("id"), last_offset=Max("offset"))
        .order_by("topic", "partition")
    ]
