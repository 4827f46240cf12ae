"""A real server for the browser: uvicorn serving the ASGI app against the test database, and Chromium."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.processes import wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before it was ready")
        return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200

    wait_for(healthy, timeout=timeout, interval=0.1, what=f"the server at {base_url}")


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment of the served app; a test module overrides it to configure the server."""
    return {}


@pytest.fixture
def live_server_url(transactional_db: None, server_env: dict[str, str]) -> Iterator[str]:
    """Serve the whole ASGI app (HTTP + websockets) with uvicorn in a child process on a free port.

    The socket is bound here and handed over, so no other process can take the port in between.
    The child reads the test database; tests must commit their data (transactional tests).
    """
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "PORT"}}
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"})
    env.update(server_env)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--fd",
            str(listener.fileno()),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        pass_fds=[listener.fileno()],
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        listener.close()


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """The browser logs in through a server process with the production hashers: keep them."""
