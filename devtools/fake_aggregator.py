"""A fake Rappi-style aggregator for development and tests only (never used in production).

It serves the orders API of contract §8 on a local port, keeps its orders in memory,
and sends signed courier and kitchen webhooks to the app, so the whole aggregator flow
can be seen locally:

- `GET /orders?status=NEW`, `PUT /orders/<id>/take`, `PUT /orders/<id>/reject {"reason"}` (contract §8);
- `GET /orders` lists every order with its `status` (NEW, TAKEN, REJECTED);
- `POST /orders` adds a new order (any of the order object's keys override the defaults);
- `POST /orders/<id>/couriers/<status>` and `POST /orders/<id>/kitchen/<status>` send the
  signed webhook to the app (body optional: `{"courier": {...}, "event_time": "..."}`)
  and answer with the app's status code and body.
"""

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from django.utils import timezone

from aggregators.signatures import HEADER, signature_header
from delivery.models import CourierStatus
from devtools.demo import BRANCHES, MENU

logger = logging.getLogger(__name__)

NEW, TAKEN, REJECTED = "NEW", "TAKEN", "REJECTED"


@dataclass(frozen=True)
class WebhookAnswer:
    status_code: int
    body: Any


class FakeAggregator:
    """The fake aggregator: its orders, its HTTP server (on a thread) and its webhook sender."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_url: str = "http://127.0.0.1:8000",
        webhook_secret: str = "",
    ) -> None:
        self.app_url = app_url.rstrip("/")
        self.webhook_secret = webhook_secret
        self.orders: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, str] = {}
        self.reject_reasons: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        # Answer the next N requests of the orders API with this status (to exercise retries).
        self.fail_next: list[int] = []
        self._lock = threading.Lock()
        self._ids = count(1)
        self._run = secrets.token_hex(2)
        self.server = ThreadingHTTPServer((host, port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, name="fake-aggregator", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _serve(self) -> None:
        self.server.serve_forever(poll_interval=0.05)

    def start(self) -> "FakeAggregator":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    # --- orders -------------------------------------------------------------------------------------------

    def add_order(self, **overrides: Any) -> dict[str, Any]:
        """Add a NEW order: the first demo store and two demo items unless overridden."""
        with self._lock:
            aggregator_id = str(overrides.pop("id", None) or f"R{self._run}-{next(self._ids)}")
            order: dict[str, Any] = {
                "id": aggregator_id,
                "store_id": BRANCHES[0]["store_id"],
                "event_time": timezone.now().isoformat(),
                "customer": {"first_name": "Layla", "last_name": "Rappi", "telephone": "+966555000111"},
                "latitude": 21.55,
                "longitude": 39.18,
                "items": [{"sku": MENU[0]["sku"], "quantity": 2}, {"sku": MENU[4]["sku"], "quantity": 1}],
                "total": "37.00",
            }
            order.update(overrides)
            self.orders[aggregator_id] = order
            self.statuses[aggregator_id] = NEW
        return order

    def status_of(self, aggregator_id: str) -> str | None:
        with self._lock:
            return self.statuses.get(aggregator_id)

    def wait_for_status(self, aggregator_id: str, status: str, *, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status_of(aggregator_id) == status:
                return True
            time.sleep(0.05)
        return self.status_of(aggregator_id) == status

    def count_requests(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for seen in self.requests if seen == (method, path))

    # --- webhooks to the app --------------------------------------------------------------------------------

    def send_courier_event(
        self,
        aggregator_id: str,
        status: str,
        *,
        courier: dict[str, Any] | None = None,
        event_time: str | None = None,
    ) -> WebhookAnswer:
        slug = "assign" if status == CourierStatus.ASSIGNED else status
        body = webhook_body(aggregator_id=aggregator_id, event=slug, event_time=event_time)
        if slug == "assign":
            body["courier"] = courier or {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}
        return self._send_webhook(f"{aggregator_id}/couriers/{slug}/", body)

    def send_kitchen_event(self, aggregator_id: str, status: str, *, event_time: str | None = None) -> WebhookAnswer:
        body = webhook_body(aggregator_id=aggregator_id, event=status, event_time=event_time)
        return self._send_webhook(f"{aggregator_id}/kitchen/{status}/", body)

    def _send_webhook(self, path: str, body: dict[str, Any]) -> WebhookAnswer:
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            HEADER: signature_header(body=raw, secret=self.webhook_secret, timestamp=int(time.time())),
        }
        # Sent with httpx directly: the signature covers these exact bytes, and the app's answer is shown as is.
        response = httpx.patch(f"{self.app_url}/webhooks/rappi/{path}", content=raw, headers=headers, timeout=10)
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        return WebhookAnswer(status_code=response.status_code, body=answer)

    # --- HTTP ---------------------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: Any) -> tuple[int, Any]:
        url = urlsplit(raw_path)
        parts = [unquote(part) for part in url.path.strip("/").split("/") if part]
        with self._lock:
            self.requests.append((method, url.path))
            injected = self.fail_next.pop(0) if self.fail_next and parts[:1] == ["orders"] else None
        if injected is not None:
            return injected, {"error": "injected failure"}
        if parts == ["orders"] and method == "GET":
            return self._list(parse_qs(url.query).get("status", [None])[0])
        if parts == ["orders"] and method == "POST":
            return HTTPStatus.CREATED, self.add_order(**(body if isinstance(body, dict) else {}))
        if len(parts) == 3 and parts[0] == "orders" and method == "PUT" and parts[2] in {"take", "reject"}:
            return self._decide(parts[1], parts[2], body)
        if len(parts) == 4 and parts[0] == "orders" and method == "POST" and parts[2] in {"couriers", "kitchen"}:
            return self._forward(parts[1], parts[2], parts[3], body if isinstance(body, dict) else {})
        return HTTPStatus.NOT_FOUND, {"error": "not found"}

    def _list(self, status: str | None) -> tuple[int, Any]:
        with self._lock:
            if status is None:
                return HTTPStatus.OK, [{**order, "status": self.statuses[key]} for key, order in self.orders.items()]
            return HTTPStatus.OK, [order for key, order in self.orders.items() if self.statuses[key] == status]

    def _decide(self, aggregator_id: str, action: str, body: Any) -> tuple[int, Any]:
        with self._lock:
            current = self.statuses.get(aggregator_id)
            if current is None:
                return HTTPStatus.NOT_FOUND, {"error": "unknown order"}
            target = TAKEN if action == "take" else REJECTED
            if current == target:
                return HTTPStatus.OK, {"id": aggregator_id, "status": current}
            if current != NEW:
                return HTTPStatus.CONFLICT, {"error": f"order is {current}"}
            if action == "reject":
                reason = body.get("reason") if isinstance(body, dict) else None
                if not isinstance(reason, str) or not reason:
                    return HTTPStatus.BAD_REQUEST, {"error": "reason required"}
                self.reject_reasons[aggregator_id] = reason
            self.statuses[aggregator_id] = target
        logger.info("fake aggregator: order %s %s", aggregator_id, target)
        return HTTPStatus.OK, {"id": aggregator_id, "status": target}

    def _forward(self, aggregator_id: str, family: str, status: str, body: dict[str, Any]) -> tuple[int, Any]:
        try:
            if family == "couriers":
                answer = self.send_courier_event(
                    aggregator_id, status, courier=body.get("courier"), event_time=body.get("event_time")
                )
            else:
                answer = self.send_kitchen_event(aggregator_id, status, event_time=body.get("event_time"))
        except httpx.HTTPError as exc:
            return HTTPStatus.BAD_GATEWAY, {"error": f"the app is unreachable: {exc}"}
        return HTTPStatus.OK, {"app_status": answer.status_code, "app_body": answer.body}


def webhook_body(*, aggregator_id: str, event: str, event_time: str | None = None) -> dict[str, Any]:
    """The signed part every webhook repeats from its URL (`order_id`, `event`), and when it happened."""
    return {"order_id": aggregator_id, "event": event, "event_time": event_time or timezone.now().isoformat()}


def _handler_for(fake: FakeAggregator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": "malformed JSON"})
                return
            status, answer = fake.handle(method, self.path, body)
            self._reply(status, answer)

        def _reply(self, status: int, answer: Any) -> None:
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake aggregator: " + format, *args)

    return Handler
