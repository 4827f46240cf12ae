"""Sessions and API tokens.

Tokens are django-rest-knox tokens: random, stored only as a SHA-512 digest, one per login,
optionally expiring (`API_TOKEN_TTL_HOURS`). Logging out revokes the token in hand; a password
change revokes every token of the user.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from knox.models import AuthToken

from delivery.errors import NotAuthenticated
from delivery.models import Customer, Driver

User = get_user_model()


def token_issue(*, user: AbstractBaseUser) -> str:
    """Issue a new random token for `user` and return it; only its digest is stored."""
    _, raw = AuthToken.objects.create(user=user)
    return raw


def token_revoke(*, token: AuthToken) -> None:
    """Revoke one token (logging out of one device)."""
    AuthToken.objects.filter(digest=token.digest).delete()


def token_revoke_all(*, user_id: int) -> int:
    """Revoke every token of a user; returns how many there were."""
    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    return deleted


class RevokeTokensOnPasswordChange:
    """A password 'validator' whose only job is Django's `password_changed` hook: a new password revokes tokens.

    Django calls it from `AbstractBaseUser.save()` after every `set_password` (admin, `changepassword`, forms).
    """

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            token_revoke_all(user_id=user.pk)

    def get_help_text(self) -> str:
        return ""


@dataclass(frozen=True)
class Session:
    token: str
    user_id: int
    driver_id: int | None
    customer_id: int | None
    branch_ids: list[int] = field(default_factory=list)


def session_create(*, phone: str | None = None, username: str | None = None, password: str) -> Session:
    """Log a driver or customer in by phone, or staff by username, issuing a new token. Raises NotAuthenticated."""
    user = None
    if phone:
        driver = Driver.objects.select_related("user").filter(phone=phone).first()
        if driver is not None:
            user = driver.user
        else:
            customer = Customer.objects.select_related("user").filter(telephone=phone).first()
            user = customer.user if customer is not None else None
    elif username:
        user = User.objects.filter(username=username).first()
    if user is None:
        # Hash anyway so unknown accounts cost as much time as wrong passwords.
        User().set_password(password)
        raise NotAuthenticated("Invalid credentials.", code="invalid_credentials")
    if not user.is_active or not user.check_password(password):
        raise NotAuthenticated("Invalid credentials.", code="invalid_credentials")
    driver_id = Driver.objects.filter(user=user).values_list("id", flat=True).first()
    customer_id = Customer.objects.filter(user=user).values_list("id", flat=True).first()
    branch_ids = list(user.staff_branches.order_by("id").values_list("id", flat=True))
    return Session(
        token=token_issue(user=user),
        user_id=user.pk,
        driver_id=driver_id,
        customer_id=customer_id,
        branch_ids=branch_ids,
    )


def session_end(*, token: AuthToken) -> None:
    """Log out: the token of this request stops working at once."""
    token_revoke(token=token)
