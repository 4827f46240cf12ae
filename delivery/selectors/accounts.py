"""Reads for authentication."""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from delivery.models import Customer, Driver

MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class ModelColumns:
    """Where one model's columns sit in a row of a hand-written SELECT of all of them."""

    model: type[models.Model]
    start: int
    stop: int
    attnames: tuple[str, ...]
    pk_index: int  # in the row


@dataclass(frozen=True)
class TokenLookup:
    """The token lookup's SQL for one database, and how a row of it becomes model instances."""

    sql: str
    token: ModelColumns
    user: ModelColumns
    driver: ModelColumns
    customer: ModelColumns
    # (column index, the backend's and the field's converters, the column they expect), as the ORM applies them.
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Col], ...]


def column_of(field: Any) -> str:
    """The database column of a concrete field (every one has a column)."""
    column = field.column
    assert isinstance(column, str), field
    return column


def user_relation(model: type[models.Model]) -> models.ForeignKey[Any, Any]:
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
    select: list[str] = []
    converters: list[tuple[int, tuple[Callable[..., Any], ...], Col]] = []
    layout: list[ModelColumns] = []
    for table, model in (("t", AuthToken), ("u", user_model), ("d", Driver), ("c", Customer)):
        start, fields = len(select), model._meta.concrete_fields
        for field in fields:
            column = field.get_col(table)
            found = (*connection.ops.get_db_converters(column), *field.get_db_converters(connection))
            if found:
                converters.append((len(select), found, column))
            select.append(f"{table}.{quote(column_of(field))}")
        attnames = tuple(field.attname for field in fields)
        pk_index = start + list(fields).index(model._meta.pk)
        layout.append(ModelColumns(model=model, start=start, stop=len(select), attnames=attnames, pk_index=pk_index))
    user_id = quote(column_of(user_model._meta.pk))

    def joined(model: type[models.Model], short: str) -> str:
        return (
            f"{quote(model._meta.db_table)} {short} ON {short}.{quote(column_of(user_relation(model)))} = u.{user_id}"
        )

    sql = (
        f"SELECT {', '.join(select)}"
        f" FROM {quote(AuthToken._meta.db_table)} t"
        f" JOIN {quote(user_model._meta.db_table)} u ON u.{user_id} = t.{quote(column_of(user_relation(AuthToken)))}"
        f" LEFT JOIN {joined(Driver, 'd')}"
        f" LEFT JOIN {joined(Customer, 'c')}"
        f" WHERE t.{quote(column_of(AuthToken._meta.pk))} = %s"
    )
    token, user, driver, customer = layout
    return TokenLookup(sql=sql, token=token, user=user, driver=driver, customer=customer, converters=tuple(converters))


def instance_of(columns: ModelColumns, alias: str, values: Sequence[Any]) -> models.Model | None:
    """The model instance in `values` (as the ORM loads it), or None where a LEFT JOIN found no row."""
    if values[columns.pk_index] is None:
        return None
    return columns.model.from_db(alias, columns.attnames, values[columns.start : columns.stop])


def auth_token_get(*, raw_token: str) -> AuthToken | None:
    """The live token row for `raw_token` (not expired, active user), with driver/customer joined, in one query."""
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH or not raw_token.isascii():
        return None
    alias = router.db_for_read(AuthToken)
    lookup = token_lookup(alias)
    connection: BaseDatabaseWrapper = connections[alias]
    # The digest is the primary key, so the lookup is one index probe on a value the caller cannot steer.
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, [hash_token(raw_token)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, converters, column in lookup.converters:
        for converter in converters:
            values[index] = converter(values[index], column, connection)
    user = instance_of(lookup.user, alias, values)
    token = instance_of(lookup.token, alias, values)
    assert isinstance(user, AbstractBaseUser)
    assert isinstance(token, AuthToken)
    if not user.is_active:
        return None
    if token.expiry is not None and token.expiry <= timezone.now():
        return None
    # The relations select_related would have cached: no further query reads them.
    user_relation(AuthToken).set_cached_value(token, user)
    for columns in (lookup.driver, lookup.customer):
        related = instance_of(columns, alias, values)
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
