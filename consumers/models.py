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
        indexes = [
            models.Index(fields=["event_id"], name="processed_event_id_idx"),
            models.Index(fields=["processed_at"], name="processed_event_at_idx"),  # retention
        ]

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_type} {self.event_id}"


class DeadLetter(models.Model):
    """A message a consumer sent to its dead-letter topic, where it was read: the per-partition
    dead-letter limit counts these rows, so it survives restarts and rebalances.

    `cleared_at` is set by `manage.py dead_letter_limit <consumer> --reset`: cleared rows no
    longer count towards the limit (they stay for the record).
    """

    consumer = models.CharField(max_length=64)
    topic = models.CharField(max_length=200)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    event_id = models.CharField(max_length=64, blank=True, default="")
    event_type = models.CharField(max_length=64, blank=True, default="")
    reason = models.CharField(max_length=16)  # invalid, permanent, exhausted
    error = models.TextField(blank=True, default="")
    attempts = models.IntegerField(default=1)
    dead_lettered_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-dead_lettered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["consumer", "topic", "partition", "offset"], name="dead_letter_once")
        ]

    def __str__(self) -> str:
        return f"{self.consumer} {self.topic}[{self.partition}]@{self.offset} {self.reason}"
