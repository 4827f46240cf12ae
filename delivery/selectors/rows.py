"""Rows of hand-written SQL as model instances, for the few reads every driver request makes.

The ORM compiles a queryset's SQL on every evaluation; for a read that runs on every request and
takes PostgreSQL a tenth of a millisecond, that compiling is most of its cost. These reads write their
SELECT once per process from the models' metadata and turn each row into instances as the ORM does:
the backend's and the fields' converters, then `Model.from_db`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col


def column_of(field: Any) -> str:
    """The database column of a concrete field (every one has a column)."""
    column = field.column
    assert isinstance(column, str), field
    return column


@dataclass(frozen=True)
class ModelColumns:
    """Every concrete column of one model, at `start` in a row: the SELECT list and how to load it."""

    model: type[models.Model]
    select: str  # t."a", t."b", ...
    start: int
    stop: int
    attnames: tuple[str, ...]
    pk_index: int  # in the row
    # (index in the row, the backend's and the field's converters, the column they expect)
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Col], ...]


def model_columns(connection: BaseDatabaseWrapper, model: type[models.Model], table: str, start: int) -> ModelColumns:
    """`model`'s columns as `table`.<column>, placed from `start` in the row."""
    quote = connection.ops.quote_name
    fields = list(model._meta.concrete_fields)
    converters = []
    for index, field in enumerate(fields, start):
        column = field.get_col(table)
        found = (*connection.ops.get_db_converters(column), *field.get_db_converters(connection))
        if found:
            converters.append((index, found, column))
    return ModelColumns(
        model=model,
        select=", ".join(f"{table}.{quote(column_of(field))}" for field in fields),
        start=start,
        stop=start + len(fields),
        attnames=tuple(field.attname for field in fields),
        pk_index=start + fields.index(model._meta.pk),
        converters=tuple(converters),
    )


def instance_of(columns: ModelColumns, connection: BaseDatabaseWrapper, row: Sequence[Any]) -> models.Model | None:
    """The instance in `row` (as the ORM would load it), or None where a LEFT JOIN found no row."""
    if row[columns.pk_index] is None:
        return None
    values = list(row[columns.start : columns.stop])
    for index, converters, column in columns.converters:
        for converter in converters:
            values[index - columns.start] = converter(values[index - columns.start], column, connection)
    return columns.model.from_db(connection.alias, columns.attnames, values)
