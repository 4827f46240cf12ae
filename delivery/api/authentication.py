"""DRF authentication by the user's API token (`Authorization: Token <token>`)."""

from typing import Any

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from delivery.selectors.accounts import auth_token_get, token_from_header


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>` (`Bearer` is accepted too); a bad token is 401, never anonymous."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        raw = token_from_header(header)
        token = auth_token_get(raw_token=raw) if raw else None
        if token is None:
            raise AuthenticationFailed("Invalid or unknown token.", code="invalid_token")
        return (token.user, token)

    def authenticate_header(self, request: Request) -> str:
        return "Token"
