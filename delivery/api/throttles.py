"""Throttles (DRF, counted in the default cache): failed logins per account and per address, webhooks per address.

Rates come from `settings.THROTTLE_RATES` when a request is checked, so tests and operators can change them.
A refused request is 429 with `Retry-After` (see `delivery.api.errors`).
"""

import hashlib
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class SettingsRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle whose rate is read from `settings.THROTTLE_RATES[scope]` at each request."""

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES[str(self.scope)]


class FailedLoginThrottle(SettingsRateThrottle):
    """Counts failed logins only: `allow_request` checks the count, the view calls `failure` after a refusal.

    Counts are per fixed window and added with the cache's atomic `incr`, so parallel guesses are all counted.
    """

    window_key: str | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None or self.num_requests is None or self.duration is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        self.window_key = f"{key}:{window}"
        return int(self.cache.get(self.window_key, 0)) < self.num_requests

    def wait(self) -> float:
        return max(1.0, self.window_end - self.now)

    def failure(self) -> None:
        """Record one failed login in the current window."""
        if self.window_key is None or self.duration is None:
            return
        self.cache.add(self.window_key, 0, self.duration)
        try:
            self.cache.incr(self.window_key)
        except ValueError:  # expired between add and incr
            self.cache.set(self.window_key, 1, self.duration)


class LoginAddressThrottle(FailedLoginThrottle):
    scope = "login_address"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAccountThrottle(FailedLoginThrottle):
    scope = "login_account"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        data: Any = request.data
        if not isinstance(data, dict):
            return None
        account = data.get("phone") or data.get("username")
        if not isinstance(account, str) or not account:
            return None
        kind = "phone" if data.get("phone") else "username"
        # Hashed: the account name is user input, and cache keys must be short and plain.
        digest = hashlib.sha256(f"{kind}:{account}".encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class WebhookThrottle(SettingsRateThrottle):
    scope = "webhook"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
