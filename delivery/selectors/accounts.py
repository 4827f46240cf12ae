"""Reads for authentication."""

import hmac

from django.contrib.auth.models import AbstractBaseUser

from delivery.models import AuthToken
from delivery.services.accounts import token_digest


def user_for_token(*, raw_token: str) -> AbstractBaseUser | None:
    """The active user owning `raw_token`, with driver/customer joined, in one query."""
    if not raw_token or len(raw_token) > 128:
        return None
    digest = token_digest(raw_token)
    # [:1], not first(): the digest is unique, and ordering would only cost compiling an ORDER BY.
    rows = AuthToken.objects.select_related("user", "user__driver", "user__customer").filter(digest=digest)[:1]
    row = next(iter(rows), None)
    if row is None or not hmac.compare_digest(row.digest, digest) or not row.user.is_active:
        return None
    return row.user


def token_from_header(header: str) -> str:
    """The token of an `Authorization: Token <t>` (or `Bearer <t>`) header, or ''."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in {"token", "bearer"}:
        return ""
    return value.strip()
