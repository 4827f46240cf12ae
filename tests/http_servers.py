"""A real local HTTP server that records requests and answers from a script (WASEAT, push, aggregator)."""

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class RecordingServer:
    """Answers each request with the next scripted `Reply` (default 200 `{}`) and records it."""

    requests: list[Recorded] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    routes: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Decides the reply from the request when set (and returns a Reply); the script is used otherwise.
    answer: Callable[[Recorded], Reply | None] | None = None
    url: str = ""

    def then(self, *replies: Reply) -> "RecordingServer":
        self.script.extend(replies)
        return self

    def to(self, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]


def _handler(server_state: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                # The client died mid-request (a SIGKILLed consumer): a real server never sees such a
                # request as made, so neither does the record.
                self.close_connection = True
                return
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
            server_state.requests.append(recorded)
            route = server_state.routes.get((self.command, self.path.split("?")[0]))
            reply = server_state.answer(recorded) if server_state.answer is not None else None
            if reply is None:
                reply = (
                    server_state.script.popleft()
                    if server_state.script
                    else Reply(body=route if route is not None else {})
                )
            if reply.delay:
                time.sleep(reply.delay)
            payload = json.dumps(reply.body if reply.body is not None else {}).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def start_recording_server() -> tuple[RecordingServer, ThreadingHTTPServer]:
    state = RecordingServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return state, httpd


@pytest.fixture
def recording_servers() -> Iterator[Any]:
    """A factory of recording servers, all shut down after the test."""
    started: list[ThreadingHTTPServer] = []

    def make() -> RecordingServer:
        state, httpd = start_recording_server()
        started.append(httpd)
        return state

    yield make
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def recording_server(recording_servers: Any) -> RecordingServer:
    return recording_servers()
