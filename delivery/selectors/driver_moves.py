"""The delivery a driver's move changes: locked, with everything its event and answer read, in one statement.

Arrival, the scan and DELIVERED each lock the driver's delivery and load its order, branch, customer,
preparation and driver (then the order's items). As a queryset (`delivery_with_related()`), compiling
that five-join SELECT was the largest cost of the move, larger than PostgreSQL running it; here it is
written once per process, and the row is loaded as `select_related` would load it.
"""

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import prefetch_related_objects

from delivery.models import Branch, Customer, Delivery, Driver, Order, Preparation
from delivery.selectors.rows import ModelColumns, instance_of, model_columns


@dataclass(frozen=True)
class LockedRead:
    """The statement for one database (less its WHERE), and where each model sits in its row."""

    select: str
    for_update: str
    delivery: ModelColumns
    order: ModelColumns
    branch: ModelColumns
    customer: ModelColumns
    preparation: ModelColumns
    driver: ModelColumns


@functools.cache
def locked_read(alias: str) -> LockedRead:
    connection = connections[alias]
    quote = connection.ops.quote_name
    delivery = model_columns(connection, Delivery, "d", 0)
    order = model_columns(connection, Order, "o", delivery.stop)
    branch = model_columns(connection, Branch, "b", order.stop)
    customer = model_columns(connection, Customer, "c", branch.stop)
    preparation = model_columns(connection, Preparation, "p", customer.stop)
    driver = model_columns(connection, Driver, "r", preparation.stop)
    parts = (delivery, order, branch, customer, preparation, driver)

    def table(model: type[models.Model]) -> str:
        return quote(model._meta.db_table)

    select = (
        f"SELECT {', '.join(part.select for part in parts)}"
        f" FROM {table(Delivery)} d"
        f" JOIN {table(Order)} o ON o.id = d.order_id"
        f" JOIN {table(Branch)} b ON b.id = o.branch_id"
        f" LEFT JOIN {table(Customer)} c ON c.id = o.customer_id"
        f" LEFT JOIN {table(Preparation)} p ON p.order_id = o.id"
        f" JOIN {table(Driver)} r ON r.id = d.driver_id"
    )
    # Only the delivery row is locked, as `select_for_update(of=("self",))` did.
    for_update = " FOR UPDATE OF d" if connection.features.has_select_for_update_of else ""
    return LockedRead(select, for_update, delivery, order, branch, customer, preparation, driver)


def related(model: type[models.Model], name: str) -> Any:
    """The relation field `model.name` (a foreign key, or one-to-one)."""
    return model._meta.get_field(name)


def loaded(read: LockedRead, connection: BaseDatabaseWrapper, row: Any) -> Delivery:
    """The delivery in `row` with its relations cached as `delivery_with_related()` leaves them."""
    delivery = instance_of(read.delivery, connection, row)
    order = instance_of(read.order, connection, row)
    branch = instance_of(read.branch, connection, row)
    driver = instance_of(read.driver, connection, row)
    assert isinstance(delivery, Delivery)
    assert isinstance(order, Order)
    customer = instance_of(read.customer, connection, row)
    preparation = instance_of(read.preparation, connection, row)
    related(Delivery, "order").set_cached_value(delivery, order)
    related(Delivery, "driver").set_cached_value(delivery, driver)
    related(Order, "branch").set_cached_value(order, branch)
    related(Order, "customer").set_cached_value(order, customer)
    preparation_order = related(Preparation, "order")
    preparation_order.remote_field.set_cached_value(order, preparation)  # order.preparation
    if preparation is not None:
        preparation_order.set_cached_value(preparation, order)
    prefetch_related_objects([order], "items")
    return delivery


def delivery_locked(*, where: str, params: list[Any]) -> Delivery | None:
    """The one delivery `where` (over d: delivery, o: order) finds, locked, or None; a unique constraint
    must bound `where` to at most one row."""
    connection = connections[router.db_for_write(Delivery)]
    read = locked_read(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(f"{read.select} WHERE {where}{read.for_update}", params)
        row = cursor.fetchone()
    return loaded(read, connection, row) if row is not None else None
