"""The web server is SIGKILLed after DELIVERED commits, while its WASEAT closes are in flight.

Old path (every flag off), the production web server as a real process on the test database.
WASEAT receives each close and holds it unanswered until the server is dead, so none is applied:
exactly a request that died between its commit and its close. Each request owed its close in its
own transaction; the sweeper hands every owed close to the waseat consumer, which closes each
order exactly once.
"""

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.processes import BASE_DIR
from bench.servers import CHOSEN, server_command
from delivery.models import DriverStatus, Order
from delivery.services.accounts import token_issue
from delivery.services.orders import ItemRequest, order_place
from delivery.services.waseat import HANDED_OVER, PENDING, waseat_close_pending_sweep
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory
from tests.http_servers import Recorded, RecordingServer, Reply
from tests.processes import free_port, wait_for
from tests.reliability.report import DrillResult, record, scale
from tests.reliability.stack import process_env

pytestmark = pytest.mark.django_db(transaction=True)


class HoldingWaseat:
    """Holds every close unanswered (and unapplied) while `holding`; then closes once per Idempotency-Key."""

    def __init__(self) -> None:
        self.holding = True
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.applied: Counter[str] = Counter()

    def answer(self, request: Recorded) -> Reply:
        if self.holding:
            self.released.wait(60)
            return Reply(status=503)  # the caller is gone; nothing was applied
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            if not self.applied[key]:
                self.applied[key] += 1
        return Reply(status=200)


def graphql(client: httpx.Client, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post(
        "/graphql/", json={"query": query, "variables": variables}, headers={"Authorization": f"Token {token}"}
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_closes_owed_by_a_killed_web_server_are_handed_over_and_made_once(
    pipeline: Callable[[], Callable[[], None]],
    external: tuple[RecordingServer, RecordingServer],
    tmp_path: Path,
) -> None:
    waseat_server, push = external
    waseat = HoldingWaseat()
    waseat_server.answer = waseat.answer
    count = scale(3, 20)
    port = free_port()
    env = process_env(
        tmp_path,
        WASEAT_BASE_URL=waseat_server.url,
        PUSH_GATEWAY_URL=push.url,
        HTTP_CLIENT_MAX_ATTEMPTS="1",
        HTTP_CLIENT_TIMEOUT_SECONDS="60",
        # One connection per request thread (a request keeps its connection until it answers).
        DB_POOL_MAX_SIZE=str(count + 4),
    )
    with (tmp_path / "web.log").open("wb") as log:
        # Its own process group: the kill takes the server and its workers at once, as a lost machine would.
        web = subprocess.Popen(
            # A thread for each request, so every close is in flight when the process dies.
            server_command(CHOSEN, port=port, workers=1, threads=count + 2),
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(base_url), timeout=60, what="the web server")
        branch = BranchFactory.create(latitude=21.5, longitude=39.2)
        item = MenuItemFactory.create()
        trips: list[tuple[str, Order]] = []
        for _ in range(count):
            driver = DriverFactory.create(status=DriverStatus.AVAILABLE, latitude=21.5, longitude=39.2)
            order = order_place(
                customer=CustomerFactory.create(),
                branch_id=branch.pk,
                latitude=21.51,
                longitude=39.2,
                items=[ItemRequest(menu_item_id=item.pk, quantity=1)],
            )
            token = token_issue(user=driver.user)
            with httpx.Client(base_url=base_url, timeout=30) as client:
                graphql(client, token, UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
                graphql(
                    client, token, UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY"
                )
            trips.append((token, order))

        cut: list[BaseException] = []

        def deliver(token: str, order: Order) -> None:
            try:
                with httpx.Client(base_url=base_url, timeout=90) as client:
                    graphql(client, token, UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
            except httpx.TransportError as error:  # the server died under the request
                cut.append(error)

        threads = [threading.Thread(target=deliver, args=trip) for trip in trips]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(waseat_server.to("/orders/")) == count, timeout=60, what="every close in flight")
        os.killpg(web.pid, signal.SIGKILL)
        web.wait(10)
        killed_at = time.monotonic()
        for thread in threads:
            thread.join(30)
        waseat.holding = False
        waseat.released.set()
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait(10)

    orders = [order for _, order in trips]
    delivered = Order.objects.filter(pk__in=[o.pk for o in orders], status="delivered").count()
    assert len(cut) == count  # every DELIVERED request was cut off by the kill ...
    assert delivered == count  # ... after its commit
    assert EffectRecord.objects.filter(kind="waseat_close", outcome=PENDING).count() == count

    settle = pipeline()
    assert waseat_close_pending_sweep(older_than=timedelta(0)) == count  # what beat runs every minute
    settle()
    recovered = time.monotonic() - killed_at

    keys = [f"close-{o.albaik_identifier}" for o in orders]
    recorded_ok = Counter(
        EffectRecord.objects.filter(kind="waseat_close", outcome="ok").values_list("albaik_identifier", flat=True)
    )
    record(
        DrillResult(
            drill=f"web SIGKILLed between DELIVERED commits and closes ({count} orders)",
            requests=count,
            # A request counts as failed if the kill lost its fact, not merely its answer.
            failed_requests=count - delivered,
            events_lost=sum(1 for key in keys if waseat.applied[key] == 0),
            duplicate_effects=sum(n - 1 for n in waseat.applied.values() if n > 1)
            + sum(n - 1 for n in recorded_ok.values() if n > 1),
            recover_seconds=round(recovered, 1),
        )
    )
    assert {key: waseat.applied[key] for key in keys} == dict.fromkeys(keys, 1)
    assert recorded_ok == Counter({o.albaik_identifier: 1 for o in orders})
    assert (
        list(EffectRecord.objects.filter(kind="waseat_close", outcome=HANDED_OVER).values_list("path", flat=True))
        == ["request"] * count
    )
    assert not EffectRecord.objects.filter(kind="waseat_close", outcome=PENDING).exists()


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
