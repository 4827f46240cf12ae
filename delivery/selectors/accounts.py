"""Reads for authentication."""

import functools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections, models, router
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from delivery.models import Customer, Driver
from delivery.selectors.rows import ModelColumns, column_of, instance_of, model_columns

MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class TokenLookup:
    """The token lookup's SQL for one database, and where each model sits in its row."""

    sql: str
    token: ModelColumns
    user: ModelColumns
    driver: ModelColumns
    customer: ModelColumns


def user_relation(model: type[models.Model]) -> models.ForeignKey[AbstractBaseUser, AbstractBaseUser]:
    """`model.user`: the foreign key (or one-to-one) to the user."""
    field = model._meta.get_field("user")
    assert isinstance(field, models.ForeignKey), field
    return field


@functools.cache
def token_lookup(alias: str) -> TokenLookup:
    """The SQL of `auth_token_get` for the database `alias`, written once per process from the models' metadata.

    Every request authenticates, and the ORM took longer to compile this lookup's three-table
    `select_related` (≈ 1 ms, every time) than PostgreSQL took to run it: here it is compiled once.
    """
    connection = connections[alias]
    quote = connection.ops.quote_name
    user_model = get_user_model()
    token = model_columns(connection, AuthToken, "t", 0)
    user = model_columns(connection, user_model, "u", token.stop)
    driver = model_columns(connection, Driver, "d", user.stop)
    customer = model_columns(connection, Customer, "c", driver.stop)
    user_id = quote(column_of(user_model._meta.pk))

    def joined(model: type[models.Model], table: str) -> str:
        return (
            f"{quote(model._meta.db_table)} {table} ON {table}.{quote(column_of(user_relation(model)))} = u.{user_id}"
        )

    sql = (
        f"SELECT {', '.join(part.select for part in (token, user, driver, customer))}"
        f" FROM {quote(AuthToken._meta.db_table)} t"
        f" JOIN {quote(user_model._meta.db_table)} u ON u.{user_id} = t.{quote(column_of(user_relation(AuthToken)))}"
        f" LEFT JOIN {joined(Driver, 'd')}"
        f" LEFT JOIN {joined(Customer, 'c')}"
        f" WHERE t.{quote(column_of(AuthToken._meta.pk))} = %s"
    )
    return TokenLookup(sql=sql, token=token, user=user, driver=driver, customer=customer)


def auth_token_get(*, raw_token: str) -> AuthToken | None:
    """The live token row for `raw_token` (not expired, active user), with driver/customer joined, in one query."""
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH or not raw_token.isascii():
        return None
    connection = connections[router.db_for_read(AuthToken)]
    lookup = token_lookup(connection.alias)
    # The digest is the primary key, so the lookup is one index probe on a value the caller cannot steer.
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, [hash_token(raw_token)])
        row = cursor.fetchone()
    if row is None:
        return None
    user = instance_of(lookup.user, connection, row)
    token = instance_of(lookup.token, connection, row)
    assert isinstance(user, AbstractBaseUser)
    assert isinstance(token, AuthToken)
    if not user.is_active:
        return None
    if token.expiry is not None and token.expiry <= timezone.now():
        return None
    # The relations select_related would have cached: nothing reads them again.
    user_relation(AuthToken).set_cached_value(token, user)
    for columns in (lookup.driver, lookup.customer):
        related = instance_of(columns, connection, row)
        relation = user_relation(columns.model)
        relation.remote_field.set_cached_value(user, related)  # user.driver / user.customer; None: DoesNotExist
        if related is not None:
            relation.set_cached_value(related, user)
    return token


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
