"""The restaurant dashboard in headless Chromium, against a real server, driven through the public APIs.

Staff log in; an order placed through the REST API appears; the assigned driver's arrival,
sent through GraphQL, shows within 2 s without a reload; clicking "collecting" moves the
driver's currentTrip to READY_TO_COLLECT; after a dropped connection the page reconnects and
catches up. A screenshot is written to var/e2e/dashboard.png.
"""

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import Page, WebSocketRoute, expect, sync_playwright

from delivery.models import Branch, DriverStatus, MenuItem
from delivery.services.accounts import token_issue
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import PASSWORD, BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory, UserFactory
from tests.processes import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ARRIVAL = """
mutation { updateDriverStatus(status: WAITING_AT_RESTAURANT) { status errors { field code message } } }
"""
CURRENT_TRIP = """
query { currentTrip { albaikIdentifier delivery { status arrivedAt collectingAt } } }
"""
SCREENSHOT = Path(settings.VAR_DIR) / "e2e" / "dashboard.png"


def graphql(base_url: str, token: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql/", json={"query": query}, headers={"Authorization": f"Token {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def place_order(base_url: str, token: str, branch: Branch, menu_item: MenuItem) -> str:
    response = httpx.post(
        f"{base_url}/api/orders/",
        json={
            "branch_id": branch.pk,
            "latitude": 21.55,
            "longitude": 39.18,
            "items": [{"menu_item_id": menu_item.pk, "quantity": 2}],
        },
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["albaik_identifier"])


def wait_for_trip_status(base_url: str, token: str, expected: str, timeout: float = 5.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        trip = graphql(base_url, token, CURRENT_TRIP)["currentTrip"]
        return trip if trip is not None and trip["delivery"]["status"] == expected else None

    trip: dict[str, Any] = wait_for(reached, timeout=timeout, interval=0.1, what=f"currentTrip to reach {expected}")
    return trip


class DroppableSockets:
    """Routes the page's websockets to the server, and can drop them and hold reconnects back."""

    def __init__(self) -> None:
        self.open: list[WebSocketRoute] = []
        self.refuse = False

    def __call__(self, route: WebSocketRoute) -> None:
        if self.refuse:
            route.close(code=1011, reason="held back by the test")
            return
        route.connect_to_server()
        self.open.append(route)

    def drop(self) -> None:
        self.refuse = True
        for route in self.open:
            route.close(code=1011, reason="dropped by the test")
        self.open.clear()


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/restaurant/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click(".login button[type=submit]")


def test_orders_move_live_on_the_dashboard(live_server_url: str) -> None:
    base_url = live_server_url
    branch = BranchFactory.create(latitude=21.5433, longitude=39.1728)
    staff = UserFactory.create()
    branch.staff.add(staff)
    menu_item = MenuItemFactory.create(name="Chicken Meal, 4 pieces")
    customer = CustomerFactory.create()
    driver = DriverFactory.create(
        name="Faisal Driver", status=DriverStatus.AVAILABLE, latitude=21.5440, longitude=39.1730
    )
    customer_token = token_issue(user=customer.user)
    driver_token = token_issue(user=driver.user)
    sockets = DroppableSockets()

    # No ORM below: Playwright's sync API runs an event loop in this thread.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1180, "height": 820}, locale="en-US")
            page.route_web_socket("**/ws/restaurant/branches/**", sockets)

            log_in(page, base_url, staff.username)
            page.wait_for_url(f"**/restaurant/branches/{branch.pk}/")
            expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=5000)
            page.evaluate("window.__sameDocument = true")

            # An order placed through the API appears by itself.
            albaik_identifier = place_order(base_url, customer_token, branch, menu_item)
            card = page.locator(f'[data-albaik-identifier="{albaik_identifier}"]')
            expect(card).to_be_visible(timeout=2000)
            expect(card.locator(".item .quantity")).to_have_text(["2\u00d7"])
            expect(card.locator(".item .name")).to_have_text(["Chicken Meal, 4 pieces"])

            # Trip assignment gives it to the nearby driver.
            expect(card.locator(".driver .person")).to_have_text("Faisal Driver", timeout=5000)
            expect(card.locator('.driver[data-arrived="false"]')).to_be_visible()

            # The driver reports arrival through GraphQL: it shows within 2 s, without a reload.
            arrival = graphql(base_url, driver_token, ARRIVAL)["updateDriverStatus"]
            reported_at = time.monotonic()
            assert arrival["errors"] == []
            expect(card.locator('.driver[data-arrived="true"]')).to_be_visible(timeout=2000)
            assert time.monotonic() - reported_at <= 2.0

            # Collecting from the dashboard moves the driver's trip to READY_TO_COLLECT.
            card.locator('button[data-action="collecting"]').click()
            expect(card.locator(".status")).to_have_attribute("data-status", "collecting", timeout=2000)
            trip = wait_for_trip_status(base_url, driver_token, "READY_TO_COLLECT")
            assert trip["albaikIdentifier"] == albaik_identifier
            assert trip["delivery"]["arrivedAt"] is not None
            assert trip["delivery"]["collectingAt"] is not None
            assert page.evaluate("window.__sameDocument") is True

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # A dropped connection: what is broadcast meanwhile is picked up after reconnecting.
            refreshes = int(page.evaluate("document.body.dataset.refreshes || '0'"))
            sockets.drop()
            expect(page.locator("#connection")).to_have_attribute("data-state", "closed", timeout=2000)
            missed = place_order(base_url, customer_token, branch, menu_item)
            expect(page.locator(f'[data-albaik-identifier="{missed}"]')).to_have_count(0)
            sockets.refuse = False
            expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=10000)
            expect(page.locator(f'[data-albaik-identifier="{missed}"]')).to_be_visible(timeout=2000)
            assert int(page.evaluate("document.body.dataset.refreshes")) > refreshes
            assert page.evaluate("window.__sameDocument") is True

            # The same page in Arabic reads right to left.
            page.locator('button[name="language"][value="ar"]').click()
            expect(page.locator("html")).to_have_attribute("dir", "rtl")
            expect(card.locator(".status")).to_have_text("قيد التجميع")
            page.screenshot(path=str(SCREENSHOT.with_name("dashboard-ar.png")), full_page=True)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 0
