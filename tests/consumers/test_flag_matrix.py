"""Every combination of the six migration flags and switch (64) walks whole trips, exactly once.

The migration lives for weeks with flags partly on, so each mixed state must be as correct as
all-off and all-on. One broker, one relay and one set of consumers serve every combination: the
five flags are set per driver (each combination has its own branch and drivers, far from the
others), the switch is global, so the 32 combinations of each switch position run side by side,
step by step. Each combination walks three orders:

1. assigned; arrival and collecting racing; scan; delivered (WASEAT answers 500 to the first try
   of every close) and the app's retry of it; the driver reports AVAILABLE at once;
2. the next order, placed in that same moment, assigned to whoever is free; arrival; scan; failed;
3. an order whose driver has an accident (given to another driver), who has one too (no one is
   left: the order fails).

Then, counted at the real local servers and in the database: one successful WASEAT close per
delivered order, one push per status event, one broadcast per event, driver status matching
the newest fact of its history and the trips, one history row per delivery action, no
`current_trip_drift`.
"""

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from rest_framework.test import APIClient
from waffle.models import Flag, Switch

from consumers.models import ProcessedEvent
from delivery.models import (
    Delivery,
    DeliveryStatusChange,
    Driver,
    DriverStatus,
    DriverStatusChange,
    MenuItem,
    Order,
)
from delivery.services.orders import ItemRequest, order_place
from driver_api.selectors import current_trip_drift
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory
from tests.http_servers import Recorded, RecordingServer, Reply
from tests.pipeline import staff_client

pytestmark = pytest.mark.django_db(transaction=True)

DRIVER_FLAGS = (
    "driver_current_trip_snapshot",
    "kafka_dashboard_broadcast",
    "kafka_customer_notification",
    "kafka_waseat_close",
    "kafka_driver_status",
)
NOTIFIED = ("trip.assigned", "delivery.out_for_delivery", "delivery.delivered", "delivery.failed")
BROADCAST = (
    "trip.assigned",
    "delivery.driver_arrived",
    "delivery.ready_to_collect",
    "delivery.out_for_delivery",
    "delivery.delivered",
    "delivery.failed",
)


@dataclass
class Combination:
    """One flag combination: its own branch, three drivers, a customer and the orders it walks."""

    index: int
    flags: tuple[str, ...]
    switch: bool
    branch: Any = None
    drivers: list[Driver] = field(default_factory=list)
    apps: dict[int, DriverClient] = field(default_factory=dict)
    staff: APIClient | None = None
    customer: Any = None
    item: MenuItem | None = None
    orders: list[Order] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"switch={'on' if self.switch else 'off'} flags={','.join(self.flags) or '-'}"

    def place(self) -> Order:
        assert self.item is not None
        order = order_place(
            customer=self.customer,
            branch_id=self.branch.pk,
            latitude=self.branch.latitude + 0.01,
            longitude=self.branch.longitude,
            items=[ItemRequest(menu_item_id=self.item.pk, quantity=1)],
        )
        self.orders.append(order)
        return order

    def holder(self, order: Order) -> DriverClient:
        """The app of the driver who holds the order now."""
        return self.apps[Delivery.objects.get(order=order, is_active=True).driver_id]

    def report(self, app: DriverClient, status: str) -> None:
        assert app.execute(UPDATE_DRIVER_STATUS, status=status)["updateDriverStatus"]["errors"] == [], self.name

    def update(self, order: Order, status: str, **extra: Any) -> None:
        result = self.holder(order).execute(
            UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=status, **extra
        )
        assert result["updateOrder"]["errors"] == [], (self.name, status, result)


def set_up(index: int, flags: tuple[str, ...], switch: bool) -> Combination:
    combination = Combination(index=index, flags=flags, switch=switch)
    # Branches 0.3 degrees (about 33 km) apart: a combination's drivers are always the nearest to its branch.
    branch = BranchFactory.create(latitude=10.0 + index * 0.3, longitude=40.0)
    combination.branch = branch
    combination.staff = staff_client(branch)
    combination.customer = CustomerFactory.create()
    combination.item = MenuItemFactory.create()
    for distance in (0.001, 0.002, 0.003):
        driver = DriverFactory.create(
            status=DriverStatus.AVAILABLE, latitude=branch.latitude + distance, longitude=branch.longitude
        )
        combination.drivers.append(driver)
        combination.apps[driver.pk] = DriverClient(driver)
        for name in flags:
            Flag.objects.get(name=name).users.add(driver.user)
    return combination


def race(*actions: Callable[[], Any]) -> None:
    """Run the actions at the same moment on their own threads (and database connections)."""
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            barrier.wait(10)
            action()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


def walk(combinations: list[Combination], settle: Callable[[], None]) -> None:
    """Every step for every combination, then let the pipeline catch up (lagging consumers in between)."""

    def each(step: Callable[[Combination], Any]) -> None:
        for combination in combinations:
            step(combination)

    each(lambda c: c.place())
    settle()

    def arrival_and_collecting(c: Combination) -> None:
        first = c.orders[0]
        assert c.staff is not None
        staff = c.staff
        race(
            lambda: c.report(c.holder(first), "WAITING_AT_RESTAURANT"),
            lambda: staff.patch(
                f"/restaurant/preparations/{first.preparation.pk}/", {"status": "collecting"}, format="json"
            ),
        )

    each(arrival_and_collecting)
    each(lambda c: c.update(c.orders[0], "OUT_FOR_DELIVERY"))
    settle()

    def deliver_and_take_the_next(c: Combination) -> None:
        first = c.orders[0]
        deliverer = c.holder(first)
        c.update(first, "DELIVERED")
        c.update(first, "DELIVERED")  # the app retries on a bad network
        c.report(deliverer, "AVAILABLE")  # at once, before normal_data caught up
        c.place()

    each(deliver_and_take_the_next)
    settle()
    each(lambda c: c.report(c.holder(c.orders[1]), "WAITING_AT_RESTAURANT"))
    each(lambda c: c.update(c.orders[1], "OUT_FOR_DELIVERY"))
    each(lambda c: c.update(c.orders[1], "FAILED", reason="customer not answering"))
    settle()
    each(lambda c: c.place())
    settle()
    each(lambda c: c.report(c.holder(c.orders[2]), "ACCIDENT"))  # given to the last free driver
    settle()
    each(lambda c: c.report(c.holder(c.orders[2]), "ACCIDENT"))  # no one is left: the order fails
    settle()


def check(combination: Combination, waseat: RecordingServer, push: RecordingServer) -> None:
    c = combination
    delivered, failed, accident = (Order.objects.get(pk=order.pk) for order in c.orders)
    assert (delivered.status, failed.status, accident.status) == ("delivered", "failed", "failed"), c.name

    # WASEAT: the delivered order closed once (after one 500), the others never.
    closes = Counter(r.path for r in waseat.requests if any(o.albaik_identifier in r.path for o in c.orders))
    assert closes == {f"/orders/{delivered.albaik_identifier}/close": 2}, c.name
    assert (
        EffectRecord.objects.filter(
            albaik_identifier=delivered.albaik_identifier, kind="waseat_close", outcome="ok"
        ).count()
        == 1
    ), c.name

    identifiers = [o.albaik_identifier for o in c.orders]
    events = OutboxEvent.objects.filter(albaik_identifier__in=identifiers)
    # Customer: one push per status event, under that event's id, whichever path sent it.
    pushed = Counter(r.headers["Idempotency-Key"] for r in push.requests if r.body["albaik_identifier"] in identifiers)
    expected = {str(e.event_id): 1 for e in events.filter(type__in=NOTIFIED)}
    assert pushed == expected, c.name
    assert [r.body["status"] for r in push.requests if r.body["albaik_identifier"] == delivered.albaik_identifier] == [
        "assigned",
        "out_for_delivery",
        "delivered",
    ], c.name

    # Dashboard: one broadcast per delivery event.
    broadcast = Counter(
        str(e)
        for e in EffectRecord.objects.filter(
            albaik_identifier__in=identifiers, kind="broadcast", outcome="ok"
        ).values_list("event_id", flat=True)
    )
    assert broadcast == {str(e.event_id): 1 for e in events.filter(type__in=BROADCAST)}, c.name

    # Both pick-up facts of the racing pair stuck.
    first = Delivery.objects.get(order=delivered)
    assert first.arrived_at is not None, c.name
    assert first.collecting_at is not None, c.name

    # Delivery history: one row per action, the failure by accident included.
    def history(order: Order) -> list[str]:
        return list(
            DeliveryStatusChange.objects.filter(delivery__order=order)
            .order_by("created_at", "id")
            .values_list("status", flat=True)
        )

    # Arrival and collecting in either order: two rows between assignment and the scan.
    assert history(delivered)[:1] + history(delivered)[3:] == ["assigned", "out_for_delivery", "delivered"], c.name
    assert len(history(delivered)) == 5, (c.name, history(delivered))
    assert history(failed) == ["assigned", "waiting_at_restaurant", "out_for_delivery", "failed"], c.name
    assert history(accident) == ["assigned", "assigned", "failed"], c.name

    # Drivers: the newest fact of each history is the current status, and it matches the trips.
    statuses = {}
    for driver in Driver.objects.filter(pk__in=[d.pk for d in c.drivers]):
        newest = DriverStatusChange.objects.filter(driver=driver).order_by("-created_at", "-status").first()
        assert newest is not None, (c.name, driver.pk)
        assert newest.status == driver.status, (c.name, driver.pk)
        statuses[driver.pk] = driver.status
    assert sorted(statuses.values()) == ["accident", "accident", "returning_order_to_restaurant"], (c.name, statuses)
    failed_driver = Delivery.objects.get(order=failed).driver_id
    assert statuses[failed_driver] == DriverStatus.RETURNING_ORDER_TO_RESTAURANT, c.name


def test_every_flag_combination_walks_whole_trips_exactly_once(pipeline: Any, external: Any) -> None:
    waseat, push = external
    tries: Counter[str] = Counter()
    lock = threading.Lock()

    def first_try_fails(request: Recorded) -> Reply:
        with lock:
            tries[request.path] += 1
            return Reply(status=500) if tries[request.path] == 1 else Reply(status=200)

    waseat.answer = first_try_fails
    for name in DRIVER_FLAGS:
        Flag.objects.create(name=name, everyone=None)
    settle = pipeline()
    combinations: list[Combination] = []
    for switch in (False, True):
        Switch.objects.update_or_create(name="kafka_trip_assignment", defaults={"active": switch})
        batch = [
            set_up(
                len(combinations) + i, tuple(name for name, on in zip(DRIVER_FLAGS, chosen, strict=True) if on), switch
            )
            for i, chosen in enumerate(itertools.product((False, True), repeat=len(DRIVER_FLAGS)))
        ]
        caches["flags"].clear()
        walk(batch, settle)
        combinations.extend(batch)
    assert len(combinations) == 64
    assert list(current_trip_drift()) == []
    for combination in combinations:
        check(combination, waseat, push)
    assert ProcessedEvent.objects.filter(consumer="waseat", event_type="waseat.close_requested").count() == 32
