"""The transactional outbox: an event exists iff the transaction that wrote it committed."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxEvent(models.Model):
    """One event waiting for (or done with) publication; `id` is the publication order."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    topic = models.CharField(max_length=200)
    # The contract §5 envelope exactly as validated and as it is sent.
    envelope = models.TextField()
    headers = models.JSONField(default=dict)
    # NULL for events about no order (e.g. an aggregator order not taken yet); read by order_timeline.
    albaik_identifier = models.CharField(max_length=32, null=True, blank=True, db_index=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # Set when the broker refused the event repeatedly: the relay skips it until it is retried or dropped.
    parked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's work queue and the backlog gauges read only unpublished rows.
            models.Index(fields=["id"], condition=Q(published_at__isnull=True), name="outbox_unpublished_idx"),
            models.Index(fields=["published_at"], condition=Q(published_at__isnull=False), name="outbox_published_idx"),
            models.Index(fields=["id"], condition=Q(parked_at__isnull=False), name="outbox_parked_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
