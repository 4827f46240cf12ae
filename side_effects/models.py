"""The feature flag model: waffle's flag with a stable per-user percentage bucket."""

import zlib
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from waffle.models import AbstractUserFlag


class Flag(AbstractUserFlag):
    """A waffle flag whose percentage rollout is decided by the user, not a cookie.

    Drivers authenticate with tokens and carry no cookies, so waffle's random
    per-request percentage would flip a driver between paths on every request.
    Here a user falls in a fixed bucket 0..9999 derived from the flag name and user id.
    """

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "flag"
        verbose_name_plural = "flags"

    def _is_active_for_percent(self, request: HttpRequest, read_only: bool) -> bool | None:
        if not self.percent or self.percent <= 0:
            return None
        user: Any = getattr(request, "user", None)
        if user is None or not getattr(user, "pk", None):
            return None
        bucket = zlib.crc32(f"{self.name}:{user.pk}".encode()) % 10000
        return bucket < int(self.percent * 100)


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
