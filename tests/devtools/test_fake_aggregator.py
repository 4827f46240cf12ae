"""The fake aggregator (development only) drives the app over real HTTP: signed webhooks and its control API."""

from typing import Any

import httpx
import pytest

from config.celery import app
from delivery.models import Order
from devtools.fake_aggregator import FakeAggregator
from tests.factories import AggregatorOrderFactory
from tests.fake_aggregator import SECRET


@pytest.mark.django_db(transaction=True)
def test_signed_webhooks_over_http_reach_the_app(live_server: Any) -> None:
    order = AggregatorOrderFactory.create(aggregator_id="R-LIVE-1")
    fake = FakeAggregator(app_url=live_server.url, webhook_secret=SECRET).start()
    try:
        answer = httpx.post(f"{fake.base_url}/orders/R-LIVE-1/couriers/assign", json={}).json()
        assert answer["app_status"] == 200
        assert answer["app_body"]["courier"]["id"] == "courier-bob"
        assert fake.send_kitchen_event("R-LIVE-1", "ready_for_pickup").status_code == 200
        assert fake.send_courier_event("R-LIVE-1", "at_hub").body["courier_status"] == "at_hub"
        wrong = FakeAggregator(app_url=live_server.url, webhook_secret="not-the-secret")
        assert wrong.send_courier_event("R-LIVE-1", "in_transit").status_code == 401
        wrong.server.server_close()
    finally:
        fake.stop()
    order = Order.objects.get(pk=order.pk)
    assert (order.courier_status, order.kitchen_status) == ("at_hub", "ready_for_pickup")


def test_the_control_api_adds_orders_and_lists_them(fake_aggregator: FakeAggregator) -> None:
    created = httpx.post(f"{fake_aggregator.base_url}/orders", json={"store_id": "store-9"}).json()
    assert created["store_id"] == "store-9"
    listed = httpx.get(f"{fake_aggregator.base_url}/orders").json()
    assert [(order["id"], order["status"]) for order in listed] == [(created["id"], "NEW")]
    assert httpx.get(f"{fake_aggregator.base_url}/nowhere").status_code == 404


def test_the_fetcher_is_on_the_beat_schedule(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["aggregator-orders-fetch"]
    assert entry["schedule"] == settings.AGGREGATOR_POLL_SECONDS
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_the_demo_sends_webhooks_to_the_apps_port_by_default(settings: Any) -> None:
    from devtools.management.commands.fake_aggregator import Command

    settings.PORT = 9123
    options = Command().create_parser("manage.py", "fake_aggregator").parse_args(["--demo"])
    assert options.app_url == "http://127.0.0.1:9123"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
def test_the_demo_stops_with_a_clear_message_when_the_app_is_unreachable(capsys: Any) -> None:
    from django.core.management import CommandError, call_command

    app_url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError) as refused:
        call_command("fake_aggregator", "--demo", "--port", "0", "--app-url", app_url)
    assert app_url in str(refused.value)
    assert "--app-url" in str(refused.value)
    assert "orders A=" not in capsys.readouterr().out  # nothing was offered to an app that is not there
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_demo_says_when_the_app_does_not_take_its_orders(live_server: Any) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as stopped:
        call_command("fake_aggregator", "--demo", "--port", "0", "--app-url", live_server.url, "--wait-seconds", "0.2")
    assert "RAPPI_API_BASE_URL" in str(stopped.value)
