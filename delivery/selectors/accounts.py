"""Reads for authentication."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

MAX_TOKEN_LENGTH = 128


def auth_token_get(*, raw_token: str) -> AuthToken | None:
    """The live token row for `raw_token` (not expired, active user), with driver/customer joined, in one query."""
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH or not raw_token.isascii():
        return None
    # The digest is the primary key, so the lookup is one index probe on a value the caller cannot steer.
    # [:1], not first(): the digest is unique, and ordering would only cost compiling an ORDER BY.
    rows = AuthToken.objects.select_related("user", "user__driver", "user__customer").filter(
        digest=hash_token(raw_token)
    )[:1]
    row = next(iter(rows), None)
    if row is None or not row.user.is_active:
        return None
    if row.expiry is not None and row.expiry <= timezone.now():
        return None
    return row


def user_for_token(*, raw_token: str) -> AbstractBaseUser | None:
    """The active user owning `raw_token`, with driver/customer joined, in one query."""
    row = auth_token_get(raw_token=raw_token)
    return row.user if row is not None else None


def token_from_header(header: str) -> str:
    """The token of an `Authorization: Token <t>` (or `Bearer <t>`) header, or ''."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in {"token", "bearer"}:
        return ""
    return value.strip()
