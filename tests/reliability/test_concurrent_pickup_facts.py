"""200 drivers arrive while their restaurants start collecting, all at once, against the real web server.

Arrival (the driver app) and collecting (the dashboard) are two writers of one delivery; both
facts must stick for every pair, and no request may fail.
"""

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from delivery.models import Delivery, DeliveryStatus, DeliveryStatusChange, DriverStatus
from delivery.services.accounts import token_issue
from delivery.services.trips import trip_assign_order
from driver_api.selectors import current_trip_drift
from tests.driver_api.queries import UPDATE_DRIVER_STATUS
from tests.factories import BranchFactory, DriverFactory, UserFactory, order_for
from tests.reliability.report import DrillResult, record, scale

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_arrival_and_collecting_pairs_keep_both_facts(web: Any) -> None:
    pairs = scale(40, 200)
    branch = BranchFactory.create(latitude=21.5, longitude=39.2)
    staff = UserFactory.create()
    branch.staff.add(staff)
    staff_token = token_issue(user=staff)
    trips = []
    for i in range(pairs):
        driver = DriverFactory.create(
            status=DriverStatus.AVAILABLE, latitude=branch.latitude + 0.0001 * i, longitude=branch.longitude
        )
        delivery = trip_assign_order(order_id=order_for(branch=branch).pk)
        assert delivery is not None
        assert delivery.driver_id == driver.pk
        trips.append((token_issue(user=driver.user), delivery.order.preparation.pk))
    base = web(workers=2)

    requests: list[tuple[str, str, dict[str, Any], str]] = []
    for driver_token, preparation_id in trips:
        requests.append(
            ("POST", "/graphql/", {"query": UPDATE_DRIVER_STATUS, "variables": {"status": "WAITING_AT_RESTAURANT"}},
             driver_token)
        )  # fmt: skip
        requests.append(("PATCH", f"/restaurant/preparations/{preparation_id}/", {"status": "collecting"}, staff_token))
    random.Random(7).shuffle(requests)

    def send(request: tuple[str, str, dict[str, Any], str]) -> int:
        method, path, body, token = request
        with httpx.Client(base_url=base, timeout=30) as client:
            response = client.request(method, path, json=body, headers={"Authorization": f"Token {token}"})
        if response.status_code != 200:
            return response.status_code
        payload = response.json()
        errors = payload.get("errors") or (payload.get("data") or {}).get("updateDriverStatus", {}).get("errors")
        return 200 if not errors else 299

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(send, requests))

    deliveries = list(Delivery.objects.filter(order__branch=branch))
    kept_both = [
        d for d in deliveries if d.arrived_at and d.collecting_at and d.status == DeliveryStatus.READY_TO_COLLECT
    ]
    history_rows = DeliveryStatusChange.objects.filter(delivery__in=deliveries).count()
    failed = sum(1 for status in statuses if status != 200)
    record(
        DrillResult(
            drill=f"{pairs} concurrent arrival/collecting pairs",
            requests=len(statuses),
            failed_requests=failed,
            events_lost=pairs - len(kept_both),
            duplicate_effects=max(0, history_rows - 3 * pairs),
        )
    )
    assert sorted(set(statuses)) == [200], sorted(statuses)
    assert len(kept_both) == pairs
    assert history_rows == 3 * pairs  # assigned, arrived, collecting: one row per action
    assert list(current_trip_drift()) == []
