"""The feature flag model: waffle's flag with a stable per-user percentage bucket."""

import zlib
from typing import Any

from django.http import HttpRequest
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
