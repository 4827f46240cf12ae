"""Sessions and API tokens.

Each user has one token. It is derived from SECRET_KEY, the user id and a generation
counter, so logging in again returns the same token (every device of a driver keeps
working) while the database holds only its SHA-256 digest. Rotating bumps the generation.
"""

import hashlib
import hmac
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from delivery.errors import NotAuthenticated
from delivery.models import AuthToken, Customer, Driver

User = get_user_model()


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _derive_token(*, user_id: int, generation: int) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), f"api-token:{user_id}:{generation}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def token_issue(*, user: AbstractBaseUser) -> str:
    """Return the user's token, creating its stored digest on first use."""
    token_row = AuthToken.objects.filter(user_id=user.pk).only("generation", "digest").first()
    generation = token_row.generation if token_row else 1
    raw = _derive_token(user_id=user.pk, generation=generation)
    if token_row is None:
        AuthToken.objects.get_or_create(
            user_id=user.pk, defaults={"digest": token_digest(raw), "generation": generation}
        )
    elif not hmac.compare_digest(token_row.digest, token_digest(raw)):
        # SECRET_KEY changed: re-derive so the stored digest matches the issued token.
        AuthToken.objects.filter(pk=token_row.pk).update(digest=token_digest(raw))
    return raw


@transaction.atomic
def token_rotate(*, user: AbstractBaseUser) -> str:
    """Invalidate the user's token and return a new one."""
    token_row, _ = AuthToken.objects.select_for_update().get_or_create(
        user_id=user.pk, defaults={"digest": "", "generation": 0}
    )
    token_row.generation += 1
    raw = _derive_token(user_id=user.pk, generation=token_row.generation)
    token_row.digest = token_digest(raw)
    token_row.save(update_fields=["generation", "digest"])
    return raw


@dataclass(frozen=True)
class Session:
    token: str
    user_id: int
    driver_id: int | None
    customer_id: int | None
    branch_ids: list[int] = field(default_factory=list)


def session_create(*, phone: str | None = None, username: str | None = None, password: str) -> Session:
    """Log a driver or customer in by phone, or staff by username. Raises NotAuthenticated."""
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
