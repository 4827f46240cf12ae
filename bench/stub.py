"""WASEAT and the push gateway for the benchmark: real HTTP, answered after a fixed delay each
(WASEAT 120 ms, push 60 ms by default: `BENCH_WASEAT_MS`, `BENCH_PUSH_MS`).

Every request is recorded with its arrival time on the benchmark's own clock, so the time
from an answered `updateOrder` to the external effect (consumer lag) can be measured.
"""

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WASEAT_CLOSE = "waseat_close"
PUSH = "push"


class ExternalServices:
    """One server for both services: `POST /orders/<id>/close` (WASEAT) and `POST /notifications` (push)."""

    def __init__(self, *, waseat_delay: float, push_delay: float) -> None:
        self.waseat_delay = waseat_delay
        self.push_delay = push_delay
        self._lock = threading.Lock()
        # (kind, albaik_identifier, status) -> arrival times (time.perf_counter())
        self._arrivals: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="bench-external", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def arrivals(self, kind: str, albaik_identifier: str, status: str = "") -> list[float]:
        with self._lock:
            return list(self._arrivals.get((kind, albaik_identifier, status), []))

    def _record(self, path: str, body: Any) -> None:
        now = time.perf_counter()
        if path.startswith("/orders/") and path.endswith("/close"):
            key = (WASEAT_CLOSE, path.split("/")[2], "")
        elif path.startswith("/notifications") and isinstance(body, dict):
            key = (PUSH, str(body.get("albaik_identifier")), str(body.get("status")))
        else:
            key = ("other", path, "")
        with self._lock:
            self._arrivals[key].append(now)

    def _delay(self, path: str) -> float:
        return self.waseat_delay if path.startswith("/orders/") else self.push_delay

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        services = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                services._record(self.path, body)
                time.sleep(services._delay(self.path))
                payload = b"{}"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up; it retries
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of concurrent closes and pushes must not be refused by a short listen backlog.
    request_queue_size = 256
