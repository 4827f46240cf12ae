"""Serve a fake Rappi-style aggregator on a local port (development only, never in production)."""

import threading
import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.models import CourierStatus
from devtools.demo import MENU
from devtools.fake_aggregator import TAKEN, FakeAggregator

BOB = {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}
JOE = {"id": "courier-joe", "name": "Joe", "phone": "+966555000333"}


class Command(BaseCommand):
    help = (
        "Serve the aggregator orders API (contract §8) for the app's fetcher and send signed courier webhooks. "
        "Start the app with RAPPI_API_BASE_URL pointing here. --demo plays orders A, B, C with A and C bundled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument(
            "--app-url",
            default=f"http://127.0.0.1:{settings.PORT}",
            help="The app webhooks go to (default: http://127.0.0.1:$PORT, the port `make run` serves on).",
        )
        parser.add_argument("--secret", default=settings.RAPPI_WEBHOOK_SECRET, help="Webhook signing secret.")
        parser.add_argument("--demo", action="store_true", help="Play the bundle scenario, then keep serving.")
        parser.add_argument("--step-seconds", type=float, default=2.0, help="Pause between demo webhooks.")
        parser.add_argument("--wait-seconds", type=float, default=60.0, help="How long the demo waits for takes.")

    def handle(self, *args: Any, **options: Any) -> None:
        fake = FakeAggregator(
            host=options["host"], port=options["port"], app_url=options["app_url"], webhook_secret=options["secret"]
        ).start()
        self.stdout.write(f"fake aggregator API on {fake.base_url} (webhooks to {fake.app_url})")
        self.stdout.write(f"start the app with RAPPI_API_BASE_URL={fake.base_url}")
        self.stdout.write(f"new order:  curl -X POST {fake.base_url}/orders")
        self.stdout.write(f"courier:    curl -X POST {fake.base_url}/orders/<id>/couriers/assign")
        stop = threading.Event()
        try:
            if options["demo"]:
                self._check_app(fake)
                self._demo(fake, step=options["step_seconds"], wait=options["wait_seconds"])
            self.stdout.write("serving; Ctrl-C stops")
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
            self.stdout.write("fake aggregator stopped")

    def _check_app(self, fake: FakeAggregator) -> None:
        """Fail before creating any order when the app cannot be reached: orders it took would stay open."""
        try:
            httpx.get(f"{fake.app_url}/healthz", timeout=5).raise_for_status()
        except httpx.HTTPError as exc:
            raise CommandError(self._unreachable(fake, exc)) from None

    @staticmethod
    def _unreachable(fake: FakeAggregator, exc: Exception) -> str:
        return (
            f"cannot reach the app at {fake.app_url} ({exc.__class__.__name__}: {exc}). Is it running? "
            f"Pass --app-url http://127.0.0.1:<port>, or run this command with the same PORT as the app."
        )

    def _demo(self, fake: FakeAggregator, *, step: float, wait: float) -> None:
        """Orders A, B (big) and C arrive; Bob gets A and C (a bundle: cook together), Joe gets B."""
        a = fake.add_order()
        b = fake.add_order(items=[{"sku": MENU[0]["sku"], "quantity": 6}, {"sku": MENU[2]["sku"], "quantity": 4}])
        c = fake.add_order()
        unknown = fake.add_order(store_id="no-such-store")
        names = {a["id"]: "A", b["id"]: "B", c["id"]: "C"}
        self.stdout.write(f"orders A={a['id']} B={b['id']} C={c['id']}, and {unknown['id']} for an unknown store")
        for order in (a, b, c):
            if not fake.wait_for_status(order["id"], TAKEN, timeout=wait):
                raise CommandError(
                    f"order {order['id']} was not taken within {wait:.0f} s: is the app running with "
                    f"RAPPI_API_BASE_URL={fake.base_url}?"
                )
            self.stdout.write(f"order {names[order['id']]} taken by the app")
        script: list[tuple[str, str, dict[str, Any] | None]] = [
            (a["id"], CourierStatus.ASSIGNED, BOB),
            (b["id"], CourierStatus.ASSIGNED, JOE),
            (c["id"], CourierStatus.ASSIGNED, BOB),
            (a["id"], CourierStatus.AT_HUB, None),
            (b["id"], CourierStatus.AT_HUB, None),
            (a["id"], CourierStatus.IN_TRANSIT, None),
            (c["id"], CourierStatus.IN_TRANSIT, None),
            (a["id"], CourierStatus.AT_DESTINATION, None),
            (a["id"], CourierStatus.DELIVERED, None),
        ]
        for aggregator_id, status, courier in script:
            time.sleep(step)
            try:
                answer = fake.send_courier_event(aggregator_id, status, courier=courier)
            except httpx.HTTPError as exc:
                raise CommandError(self._unreachable(fake, exc)) from None
            line = f"{names[aggregator_id]} {status}: HTTP {answer.status_code} {answer.body}"
            if answer.status_code == 200:
                self.stdout.write(line)
            else:
                self.stderr.write(f"webhook refused by the app: {line}")
        self.stdout.write(f"unknown store order: {fake.status_of(unknown['id'])} {fake.reject_reasons}")
