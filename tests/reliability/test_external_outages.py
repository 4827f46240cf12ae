"""WASEAT and the push gateway misbehave while orders are delivered: every effect still happens exactly once.

The pipeline (relay and side-work consumers on threads) talks to real local HTTP servers. Half of
the drivers close in the request (old path), half leave it to the waseat consumer (new path).
"""

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from waffle.models import Flag

from delivery.models import DriverStatus, Order
from delivery.services.orders import ItemRequest, order_place
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory
from tests.http_servers import Recorded, RecordingServer, Reply
from tests.kafka import TCPGate
from tests.processes import wait_for
from tests.reliability.report import DrillResult, record, scale

pytestmark = pytest.mark.django_db(transaction=True)


def deliver_orders(count: int, *, consumer_path_flag: str) -> list[Order]:
    """`count` own-fleet orders, each assigned, picked up and delivered; the flag on for every other driver."""
    Flag.objects.create(name=consumer_path_flag, everyone=None)
    flag = Flag.objects.get(name=consumer_path_flag)
    branch = BranchFactory.create(latitude=21.5, longitude=39.2)
    item = MenuItemFactory.create()
    orders = []
    for i in range(count):
        driver = DriverFactory.create(status=DriverStatus.AVAILABLE, latitude=21.5, longitude=39.2)
        if i % 2:
            flag.users.add(driver.user)
        order = order_place(
            customer=CustomerFactory.create(),
            branch_id=branch.pk,
            latitude=21.51,
            longitude=39.2,
            items=[ItemRequest(menu_item_id=item.pk, quantity=1)],
        )
        app = DriverClient(driver)
        app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
        for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
            result = app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=status)
            assert result["updateOrder"]["errors"] == []
        app.execute(UPDATE_DRIVER_STATUS, status="UNAVAILABLE")  # the next order goes to the next driver
        orders.append(order)
    return orders


class FlakyWaseat:
    """WASEAT on a bad day: 500 to 30 % of calls, slower than the client's timeout on some (after
    closing the order), and a permanent 422 for the first order it sees until that order is fixed.
    Idempotent by `Idempotency-Key`, as the real one: a repeat of an applied close is answered 200
    and not applied again; `applied` counts the closes it really made."""

    def __init__(self) -> None:
        self.random = random.Random(12)
        self.lock = threading.Lock()
        self.applied: Counter[str] = Counter()
        self.rejected: str | None = None
        self.fixed = False

    def answer(self, request: Recorded) -> Reply:
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            if self.rejected is None:
                self.rejected = key
            if key == self.rejected and not self.fixed:
                return Reply(status=422, body={"error": "total does not match"})
            roll = self.random.random()
            if roll < 0.3:
                return Reply(status=500)
            if not self.applied[key]:
                self.applied[key] += 1
        return Reply(status=200, delay=1.0 if roll > 0.9 else 0.0)


def test_waseat_failing_and_timing_out_closes_every_delivered_order_exactly_once(
    pipeline: Callable[[], Callable[[], None]], external: tuple[RecordingServer, RecordingServer]
) -> None:
    waseat_server, _ = external
    waseat = FlakyWaseat()
    waseat_server.answer = waseat.answer
    count = scale(6, 40)
    with override_settings(
        HTTP_CLIENT_TIMEOUT_SECONDS=0.5, HTTP_CLIENT_MAX_ATTEMPTS=4, HTTP_CLIENT_BACKOFF_SECONDS=0.01
    ):
        settle = pipeline()
        orders = deliver_orders(count, consumer_path_flag="kafka_waseat_close")
        settle()
        wait_for(lambda: dead_letter_count("waseat") == 1, timeout=30, what="the rejected close dead-lettered")
        rejected = waseat.rejected
        assert rejected is not None
        assert waseat.applied[rejected] == 0
        waseat.fixed = True  # the order's data is fixed in WASEAT
        fixed = time.monotonic()
        call_command("replay_dead_letters", "waseat", "--json", stdout=StringIO())
        wait_for(lambda: waseat.applied[rejected] == 1, timeout=30, what="the replayed close")
        recovered = time.monotonic() - fixed
        settle()

    recorded_ok = Counter(
        EffectRecord.objects.filter(kind="waseat_close", outcome="ok").values_list("albaik_identifier", flat=True)
    )
    record(
        DrillResult(
            drill=f"WASEAT 500 on 30 %, timeouts, one 4xx replayed ({count} orders)",
            requests=len(waseat_server.requests),
            failed_requests=0,
            events_lost=sum(1 for o in orders if waseat.applied[f"close-{o.albaik_identifier}"] == 0),
            duplicate_effects=sum(n - 1 for n in waseat.applied.values() if n > 1)
            + sum(n - 1 for n in recorded_ok.values() if n > 1),
            recover_seconds=round(recovered, 1),
        )
    )
    assert {key: waseat.applied[key] for key in (f"close-{o.albaik_identifier}" for o in orders)} == {
        f"close-{o.albaik_identifier}": 1 for o in orders
    }
    assert set(waseat.applied) == {f"close-{o.albaik_identifier}" for o in orders}
    assert recorded_ok == Counter({o.albaik_identifier: 1 for o in orders})


def dead_letter_count(consumer: str) -> int:
    out = StringIO()
    call_command("replay_dead_letters", consumer, "--dry-run", "--json", stdout=out)
    return int(json.loads(out.getvalue())["count"])


def test_push_gateway_down_for_a_while_then_every_notification_is_delivered_once(
    pipeline: Callable[[], Callable[[], None]], external: tuple[RecordingServer, RecordingServer], settings: Any
) -> None:
    _, push = external
    gate = TCPGate(push.url.removeprefix("http://"))  # closed: the gateway is down
    settings.PUSH_GATEWAY_URL = f"http://{gate.address}"
    settings.CONSUMER_MAX_ATTEMPTS = 12
    settings.CONSUMER_RETRY_BACKOFF_SECONDS = 0.2
    down_seconds = scale(3, 20)
    count = scale(6, 30)
    Flag.objects.create(name="kafka_customer_notification", everyone=True)
    settle = pipeline()
    orders = deliver_orders(count, consumer_path_flag="kafka_waseat_close")
    wait_for(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=30)
    time.sleep(down_seconds)  # the outage itself: consumers keep retrying against the closed gateway
    assert push.requests == []
    gate.open()
    reopened = time.monotonic()
    try:
        expected = Counter(
            str(e)
            for e in OutboxEvent.objects.filter(
                albaik_identifier__in=[o.albaik_identifier for o in orders],
                type__in=["trip.assigned", "delivery.out_for_delivery", "delivery.delivered"],
            ).values_list("event_id", flat=True)
        )
        wait_for(lambda: len(push.requests) >= sum(expected.values()), timeout=120, what="every push delivered")
        recovered = time.monotonic() - reopened
        settle()
    finally:
        gate.close()
    pushed = Counter(r.headers["Idempotency-Key"] for r in push.requests)
    record(
        DrillResult(
            drill=f"push gateway down {down_seconds} s ({count} orders)",
            requests=len(push.requests),
            failed_requests=0,
            events_lost=sum((expected - pushed).values()),
            duplicate_effects=sum((pushed - expected).values()),
            recover_seconds=round(recovered, 1),
        )
    )
    assert pushed == expected
