"""Records of external effects (WASEAT closes, notifications, broadcasts), read by `order_timeline`."""

from django.db import models
from django.utils import timezone


class EffectKind(models.TextChoices):
    WASEAT_CLOSE = "waseat_close"
    NOTIFICATION = "notification"
    BROADCAST = "broadcast"


class EffectPath(models.TextChoices):
    REQUEST = "request", "in the request (old path)"
    CONSUMER = "consumer", "in a Kafka consumer (new path)"


class EffectRecord(models.Model):
    """One external effect done for an order: what, where, when and how it went.

    Read by `order_timeline`; written by whichever path did the work.
    """

    albaik_identifier = models.CharField(max_length=32, db_index=True)
    kind = models.CharField(max_length=32, choices=EffectKind.choices)
    path = models.CharField(max_length=16, choices=EffectPath.choices)
    outcome = models.CharField(max_length=32)  # e.g. "ok", "failed", "skipped"
    event_id = models.UUIDField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.albaik_identifier} {self.kind} {self.outcome} ({self.path})"
