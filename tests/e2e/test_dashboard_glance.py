"""A dashboard a busy kitchen trusts at a glance, in headless Chromium against a real server.

- card states: a scanned order leaves the list, a courier on the way takes an aggregator order off it,
  the one button always matches the status, and a late, older broadcast never overwrites a newer card;
- bundles: cards of a bundle sit together, a bundle forgets an order its courier took, and every banner
  and badge keeps WCAG AA contrast (4.5:1) in English and Arabic;
- urgency: configured age thresholds change the card, new orders are marked, ages stay right on a page
  open for long, and a dropped connection dims the cards under a banner;
- aggregator cards name the aggregator and the courier's state ("waiting for a courier");
- layout: headers on one line, "Log out" unbroken at phone width.

Screenshots go to var/e2e/ (desktop 1366x900 English, tablet 1024x768 Arabic, phone 390x844 both).
"""

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright

from delivery.models import Branch, Bundle, CourierStatus, DriverStatus, Order
from delivery.services.accounts import token_issue
from devtools.fake_aggregator import FakeAggregator
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_dashboard_browser import DroppableSockets, graphql, log_in, place_order
from tests.factories import (
    AggregatorOrderFactory,
    BranchFactory,
    CustomerFactory,
    DeliveryFactory,
    DriverFactory,
    MenuItemFactory,
    OrderItemFactory,
    PreparationFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "e2e"
WEBHOOK_SECRET = "e2e-rappi-webhook-secret"
BOB = {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}
JOE = {"id": "courier-joe", "name": "Joe", "phone": "+966555000333"}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
TABLET: ViewportSize = {"width": 1024, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}

SCAN = "mutation { updateOrder(albaikIdentifier: %s, status: OUT_FOR_DELIVERY) { errors { code } } }"
ARRIVAL = "mutation { updateDriverStatus(status: WAITING_AT_RESTAURANT) { status errors { code } } }"

# Text colour against the colour actually behind it (the first ancestor with a background), per element.
COLOURS_JS = """
(selector) => [...document.querySelectorAll(selector)].filter((node) => node.offsetParent !== null
    && node.textContent.trim()).map((node) => {
  let back = node;
  while (back && getComputedStyle(back).backgroundColor.replace(/\\s/g, '').match(/rgba\\(.*,0\\)|transparent/)) {
    back = back.parentElement;
  }
  return {
    text: node.textContent.trim(),
    className: node.className,
    color: getComputedStyle(node).color,
    background: back ? getComputedStyle(back).backgroundColor : 'rgb(255, 255, 255)',
  };
})
"""
CONTRAST_SELECTORS = (
    ".bundle, .status, .tag, .new-flag, .urgency-flag, .age, .courier-status, .arrival, .connection, .count, "
    ".offline-banner, button.action, .label, .phone, .aggregator-id, .person, .item, .order-id, .link-button, "
    ".brand, .driver.none, h1"
)


@pytest.fixture
def server_env() -> dict[str, str]:
    # Thresholds other than the defaults (10 and 20 minutes), so the test proves they are read.
    return {
        "RAPPI_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DASHBOARD_AGE_WARNING_MINUTES": "5",
        "DASHBOARD_AGE_LATE_MINUTES": "15",
        "DASHBOARD_NEW_ORDER_SECONDS": "60",
    }


def channel(value: str) -> float:
    component = int(value) / 255
    return component / 12.92 if component <= 0.03928 else ((component + 0.055) / 1.055) ** 2.4


def luminance(css: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css)[:3])
    return 0.2126 * channel(str(red)) + 0.7152 * channel(str(green)) + 0.0722 * channel(str(blue))


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def assert_aa_contrast(page: Page) -> int:
    """Every visible text of the dashboard against what is behind it: at least 4.5:1. Returns how many."""
    measured = page.evaluate(COLOURS_JS, CONTRAST_SELECTORS)
    failing = [
        (entry["className"], entry["text"][:30], round(contrast(entry["color"], entry["background"]), 2))
        for entry in measured
        if contrast(entry["color"], entry["background"]) < 4.5
    ]
    assert failing == []
    return len(measured)


def card(page: Page, order: Order | str) -> Any:
    identifier = order if isinstance(order, str) else order.albaik_identifier
    return page.locator(f'.card[data-albaik-identifier="{identifier}"]')


def new_context(browser: Browser, viewport: ViewportSize, locale: str) -> BrowserContext:
    return browser.new_context(viewport=viewport, locale=locale, reduced_motion="reduce")


def make_kitchen(branch: Branch) -> dict[str, Order]:
    """A busy branch: own-fleet orders of several ages, and aggregator orders, two bundles among them."""
    now = timezone.now()

    def ago(minutes: float) -> Any:
        return now - timedelta(minutes=minutes)

    def meal(order: Order, name: str, quantity: int) -> None:
        OrderItemFactory.create(order=order, name=name, quantity=quantity)

    orders: dict[str, Order] = {}
    late = PreparationFactory.create(order__branch=branch, order__created_at=ago(26), created_at=ago(26)).order
    arrived = DriverFactory.create(name="Faisal")
    DeliveryFactory.create(order=late, driver=arrived, status="waiting_at_restaurant", arrived_at=ago(2))
    meal(late, "Garlic Sauce", 3)
    orders["late"] = late
    waiting = PreparationFactory.create(
        order__branch=branch, order__created_at=ago(7), created_at=ago(7), status="collecting"
    ).order
    DeliveryFactory.create(order=waiting, driver=DriverFactory.create(name="Omar"))
    orders["warning"] = waiting
    orders["fresh"] = PreparationFactory.create(
        order__branch=branch, order__created_at=ago(3), created_at=ago(3), status="ready"
    ).order

    bob_bundle = Bundle.objects.create(aggregator="rappi", courier_id=BOB["id"])
    for name, minutes in (("A", 12), ("C", 4), ("E", 2.5)):
        orders[name] = AggregatorOrderFactory.create(
            branch=branch,
            aggregator_id=f"R-{name}",
            created_at=ago(minutes),
            courier_id=BOB["id"],
            courier_name=BOB["name"],
            courier_phone=BOB["phone"],
            courier_status=CourierStatus.ASSIGNED,
            courier_status_at=ago(1),
            bundle=bob_bundle,
        )
    orders["B"] = AggregatorOrderFactory.create(branch=branch, aggregator_id="R-B", created_at=ago(6))
    joe_bundle = Bundle.objects.create(aggregator="rappi", courier_id=JOE["id"])
    for name, minutes in (("F", 9), ("G", 1.5)):
        orders[name] = AggregatorOrderFactory.create(
            branch=branch,
            aggregator_id=f"R-{name}",
            created_at=ago(minutes),
            courier_id=JOE["id"],
            courier_name=JOE["name"],
            courier_phone=JOE["phone"],
            courier_status=CourierStatus.AT_HUB,
            courier_status_at=ago(1),
            bundle=joe_bundle,
        )
    for order in orders.values():
        # Preparations are created with their orders; they start with the order's age.
        order.preparation.created_at = order.created_at
        order.preparation.save(update_fields=["created_at"])
    orders["new"] = PreparationFactory.create(order__branch=branch).order
    return orders


def test_cards_say_one_consistent_thing_and_ignore_late_older_broadcasts(live_server_url: str) -> None:
    base_url = live_server_url
    branch = BranchFactory.create(latitude=21.5433, longitude=39.1728)
    staff = UserFactory.create()
    branch.staff.add(staff)
    menu_item = MenuItemFactory.create(name="Chicken Meal, 4 pieces")
    customer = CustomerFactory.create()
    driver = DriverFactory.create(name="Faisal", status=DriverStatus.AVAILABLE, latitude=21.544, longitude=39.173)
    customer_token, driver_token = token_issue(user=customer.user), token_issue(user=driver.user)
    aggregator_order = AggregatorOrderFactory.create(branch=branch, aggregator_id="R-STATE")
    fake = FakeAggregator(app_url=base_url, webhook_secret=WEBHOOK_SECRET)
    sockets = DroppableSockets()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = new_context(browser, DESKTOP, "en-US").new_page()
            page.route_web_socket("**/ws/restaurant/branches/**", sockets)
            log_in(page, base_url, staff.username)
            expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=5000)

            # Own fleet: every status shows its one matching action.
            identifier = place_order(base_url, customer_token, branch, menu_item)
            own = card(page, identifier)
            expect(own.locator(".driver .person")).to_have_text("Faisal", timeout=5000)
            expect(own.locator(".tag.source")).to_have_text("Our driver")
            assert graphql(base_url, driver_token, ARRIVAL)["updateDriverStatus"]["errors"] == []
            expect(own.locator('.driver[data-arrived="true"]')).to_be_visible(timeout=2000)
            for status, action in (("received", "collecting"), ("collecting", "ready"), ("ready", "handed_over")):
                expect(own.locator(".status")).to_have_attribute("data-status", status, timeout=2000)
                expect(own.locator("button.action")).to_have_count(1)
                expect(own.locator("button.action")).to_have_attribute("data-action", action)
                if action != "handed_over":
                    own.locator("button.action").click()
            ready = page.evaluate(
                "(url) => fetch(url).then((response) => response.json())",
                f"/restaurant/branches/{branch.pk}/preparations/",
            )
            stale = next(entry for entry in ready if entry["order"]["albaik_identifier"] == identifier)

            # The driver scans: the order is handed over and leaves the list at once.
            scan = graphql(base_url, driver_token, SCAN % json.dumps(identifier))
            assert scan["updateOrder"]["errors"] == []
            expect(own).to_have_count(0, timeout=2000)

            # A late broadcast of the older "ready" card arrives after the newer one: it is ignored.
            sockets.open[-1].send(json.dumps({"type": "preparation.updated", "preparation": stale}))
            older = {**stale, "version": stale["version"] - 1, "status": "collecting", "next_status": "ready"}
            sockets.open[-1].send(json.dumps({"type": "preparation.updated", "preparation": older}))
            probe = {**stale, "id": -1, "version": 1, "order": {**stale["order"], "albaik_identifier": "ALB-PROBE"}}
            sockets.open[-1].send(json.dumps({"type": "preparation.updated", "preparation": probe}))
            expect(card(page, "ALB-PROBE")).to_have_count(1)  # messages are read: the two above were refused
            expect(own).to_have_count(0)

            # Aggregator: the courier's progress moves the card.
            agg = card(page, aggregator_order)
            expect(agg.locator(".tag.source")).to_have_text("Rappi")
            expect(agg.locator('.courier[data-courier-status="waiting"]')).to_have_text("Waiting for a courier")
            assert fake.send_courier_event("R-STATE", "assigned", courier=BOB).status_code == 200
            assert fake.send_courier_event("R-STATE", "at_hub").status_code == 200
            expect(agg.locator(".courier .person")).to_have_text("Bob", timeout=2000)
            expect(agg.locator(".courier-status")).to_have_text("At the restaurant")
            expect(agg.locator("button.action")).to_have_attribute("data-action", "collecting")
            assert fake.send_courier_event("R-STATE", "in_transit").status_code == 200
            expect(agg).to_have_count(0, timeout=2000)
        finally:
            browser.close()
            fake.server.server_close()


def test_a_busy_kitchen_reads_at_a_glance_in_both_languages(live_server_url: str) -> None:
    base_url = live_server_url
    branch = BranchFactory.create(name="Jeddah · Tahlia Street")
    staff = UserFactory.create()
    branch.staff.add(staff)
    orders = make_kitchen(branch)
    fake = FakeAggregator(app_url=base_url, webhook_secret=WEBHOOK_SECRET)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = new_context(browser, DESKTOP, "en-US").new_page()
            sockets = DroppableSockets()
            page.route_web_socket("**/ws/restaurant/branches/**", sockets)
            log_in(page, base_url, staff.username)
            expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=5000)
            expect(page.locator(".card")).to_have_count(len(orders))

            # Urgency from the configured thresholds (warning 5 min, late 15 min, new 60 s).
            expect(card(page, orders["late"])).to_have_attribute("data-urgency", "late")
            expect(card(page, orders["late"]).locator(".urgency-flag")).to_have_text("Late")
            expect(card(page, orders["warning"])).to_have_attribute("data-urgency", "warning")
            expect(card(page, orders["fresh"])).to_have_attribute("data-urgency", "normal")
            expect(card(page, orders["new"])).to_have_attribute("data-new", "true")
            expect(card(page, orders["new"]).locator(".new-flag")).to_be_visible()
            expect(card(page, orders["fresh"])).to_have_attribute("data-new", "false")
            expect(card(page, orders["late"]).locator(".age")).to_have_text("26 min")

            # Aggregator cards: the aggregator, its id, the courier's state; own fleet says "Our driver".
            expect(card(page, orders["B"]).locator(".tag.source")).to_have_text("Rappi")
            expect(card(page, orders["B"]).locator(".aggregator-id")).to_have_text("#R-B")
            expect(card(page, orders["B"]).locator(".courier")).to_have_text("Waiting for a courier")
            expect(card(page, orders["F"]).locator(".courier-status")).to_have_text("At the restaurant")
            expect(card(page, orders["late"]).locator(".tag.source")).to_have_text("Our driver")

            # Bundles sit together, each where its oldest order would be.
            sequence = page.locator(".card").evaluate_all("(cards) => cards.map((c) => c.dataset.albaikIdentifier)")
            position = {identifier: index for index, identifier in enumerate(sequence)}
            for members in (("A", "C", "E"), ("F", "G")):
                places = sorted(position[orders[name].albaik_identifier] for name in members)
                assert places == list(range(places[0], places[0] + len(members)))
            expect(card(page, orders["C"]).locator(".bundle")).to_contain_text(orders["A"].albaik_identifier)
            # ... on one row when it fits: the same top edge.
            tops = {name: round(card(page, orders[name]).bounding_box()["y"]) for name in ("A", "C", "E", "F", "G")}
            assert tops["A"] == tops["C"] == tops["E"]
            assert tops["F"] == tops["G"]
            colours = {
                name: card(page, orders[name]).get_attribute("data-bundle-colour") for name in ("A", "C", "E", "F", "G")
            }
            assert colours["A"] == colours["C"] == colours["E"] != colours["F"] == colours["G"]

            # Headers never wrap: one line each, all the same height.
            heights = page.locator(".card-header").evaluate_all(
                "(headers) => headers.map((h) => h.getBoundingClientRect().height)"
            )
            assert max(heights) - min(heights) < 1.5
            assert max(heights) < 45  # one line of the order number
            assert assert_aa_contrast(page) > 50
            page.mouse.move(0, 0)
            page.screenshot(path=str(SCREENSHOTS / "glance-desktop-en.png"), full_page=True)

            # Bob takes A: A leaves, and C and E no longer name it.
            assert fake.send_courier_event("R-A", "in_transit").status_code == 200
            expect(card(page, orders["A"])).to_have_count(0, timeout=2000)
            for name, other in (("C", "E"), ("E", "C")):
                banner = card(page, orders[name]).locator(".bundle")
                expect(banner).to_have_attribute(
                    "data-bundle", ",".join(sorted([orders["C"].albaik_identifier, orders["E"].albaik_identifier]))
                )
                expect(banner).to_have_text(f"Cook together with {orders[other].albaik_identifier}")

            # Offline: a banner, and every card dimmed.
            sockets.drop()
            expect(page.locator("#offline")).to_be_visible(timeout=2000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.card')].every((c) => Number(getComputedStyle(c).opacity) < 0.6)",
                timeout=2000,
            )
            page.screenshot(path=str(SCREENSHOTS / "glance-offline-en.png"), full_page=True)
            sockets.refuse = False
            expect(page.locator("#offline")).to_be_hidden(timeout=10000)

            # Phone width: "Log out" on one line.
            phone = new_context(browser, PHONE, "en-US").new_page()
            log_in(phone, base_url, staff.username)
            expect(phone.locator(".card")).to_have_count(len(orders) - 1)
            assert_logout_on_one_line(phone)
            phone.screenshot(path=str(SCREENSHOTS / "glance-phone-en.png"))

            # Tablet, Arabic: right to left, the same contrast, Arabic labels.
            tablet = new_context(browser, TABLET, "ar").new_page()
            log_in(tablet, base_url, staff.username)
            expect(tablet.locator("html")).to_have_attribute("dir", "rtl")
            expect(tablet.locator("#connection")).to_have_attribute("data-state", "open", timeout=5000)
            expect(card(tablet, orders["B"]).locator(".courier")).to_have_text("بانتظار مندوب")
            expect(card(tablet, orders["late"]).locator(".tag.source")).to_have_text("سائقنا")
            expect(card(tablet, orders["late"]).locator(".urgency-flag")).to_have_text("متأخر")
            assert assert_aa_contrast(tablet) > 50
            for pair in (("C", "E"), ("F", "G")):
                rows = {round(card(tablet, orders[name]).bounding_box()["y"]) for name in pair}
                assert len(rows) == 1
            tablet.mouse.move(0, 0)
            tablet.screenshot(path=str(SCREENSHOTS / "glance-tablet-ar.png"), full_page=True)

            phone_ar = new_context(browser, PHONE, "ar").new_page()
            log_in(phone_ar, base_url, staff.username)
            expect(phone_ar.locator(".card").first).to_be_visible()
            assert_logout_on_one_line(phone_ar)
            phone_ar.screenshot(path=str(SCREENSHOTS / "glance-phone-ar.png"))
        finally:
            browser.close()
            fake.server.server_close()


def assert_logout_on_one_line(page: Page) -> None:
    lines = page.locator(".topbar form:last-child .link-button").evaluate(
        "(button) => { const range = document.createRange(); range.selectNodeContents(button);"
        " return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size; }"
    )
    assert lines == 1


def test_ages_stay_right_on_a_page_open_for_long(live_server_url: str) -> None:
    base_url = live_server_url
    branch = BranchFactory.create()
    staff = UserFactory.create()
    branch.staff.add(staff)
    order = PreparationFactory.create(order__branch=branch).order

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = new_context(browser, DESKTOP, "en-US").new_page()
            page.clock.install()
            log_in(page, base_url, staff.username)
            fresh = card(page, order)
            expect(fresh.locator(".age")).to_have_text("just now", timeout=5000)
            expect(fresh).to_have_attribute("data-new", "true")
            page.clock.run_for("01:07")
            expect(fresh.locator(".age")).to_have_text("1 min")
            expect(fresh).to_have_attribute("data-new", "false")
            page.clock.run_for("04:00")
            expect(fresh.locator(".age")).to_have_text("5 min")
            expect(fresh).to_have_attribute("data-urgency", "warning")
            page.clock.run_for("10:00")
            expect(fresh.locator(".age")).to_have_text("15 min")
            expect(fresh).to_have_attribute("data-urgency", "late")
        finally:
            browser.close()


def test_graphiql_works_offline_and_takes_the_token_in_its_headers_pane(live_server_url: str) -> None:
    base_url = live_server_url
    driver = DriverFactory.create()
    token = token_issue(user=driver.user)
    outside: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = new_context(browser, DESKTOP, "en-US").new_page()

            def local_only(route: Any) -> None:
                if route.request.url.startswith(base_url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", local_only)
            page.goto(f"{base_url}/graphql/")
            # What the README tells: the Headers pane keeps {"Authorization": "Token …"} across reloads.
            page.evaluate(
                "(headers) => localStorage.setItem('graphiql:headers', headers)",
                json.dumps({"Authorization": f"Token {token}"}),
            )
            page.goto(f"{base_url}/graphql/?query={quote('{ currentTrip { albaikIdentifier } }')}")
            expect(page.locator(".graphiql-container")).to_be_visible(timeout=10000)
            page.locator(".graphiql-execute-button").click()
            expect(page.locator(".result-window")).to_contain_text('"currentTrip": null', timeout=5000)
        finally:
            browser.close()
    assert outside == []
