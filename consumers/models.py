"""What each consumer has processed: the idempotency record of at-least-once delivery."""

from django.db import models
from django.utils import timezone


class ProcessedEvent(models.Model):
    """Inserted in the same transaction as a handler's effects: an event is applied once per consumer."""

    consumer = models.CharField(max_length=64)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=64)
    processed_at = models.DateTimeField(default=timezone.now)
    # Where the message was read, for operators.
    topic = models.CharField(max_length=200, blank=True, default="")
    partition = models.IntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-processed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["consumer", "event_id"], name="processed_event_once")]
        indexes = [models.Index(fields=["event_id"], name="processed_event_id_idx")]

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_type} {self.event_id}"
