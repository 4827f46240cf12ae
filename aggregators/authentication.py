"""DRF authentication of aggregator webhooks by their `Rappi-Signature` header."""

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import authentication, permissions
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.views import APIView

from aggregators.signatures import HEADER, signature_verify
from aggregators.transitions import RAPPI


@dataclass(frozen=True)
class AggregatorPrincipal:
    """Who sent a verified webhook (DRF's `request.user`)."""

    aggregator: str
    is_authenticated: bool = True
    is_active: bool = True
    pk: None = None


class RappiSignatureAuthentication(authentication.BaseAuthentication):
    """Accept a request only when its signature covers the exact raw body (a bad one is a 401)."""

    def authenticate(self, request: Request) -> tuple[AggregatorPrincipal, None]:
        try:
            body = request._request.body  # read before parsing: the signature covers the raw bytes
        except RequestDataTooBig:
            raise ParseError("The body is too large.", code="body_too_large") from None
        signature_verify(
            header=request.META.get("HTTP_RAPPI_SIGNATURE"),
            body=body,
            secret=settings.RAPPI_WEBHOOK_SECRET,
            now=time.time(),
        )
        return AggregatorPrincipal(aggregator=RAPPI), None

    def authenticate_header(self, request: Request) -> str:
        return HEADER


class IsRappiAuthenticated(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        user: Any = request.user
        return isinstance(user, AggregatorPrincipal) and user.aggregator == RAPPI
