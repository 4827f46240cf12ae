"""Helpers for tests that run real processes and servers: free ports, waits, the test database URL."""

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dj_database_url
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], T | None], *, timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except AssertionError:
            raise
        except Exception as exc:  # not ready yet (connection refused, ...)
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}: {last_error!r}")


def test_database_url() -> str:
    """DATABASE_URL pointing at the database pytest-django created for this run."""
    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    user = params["USER"] or ""
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{params['HOST']}:{params['PORT'] or 5432}/{connection.settings_dict['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]
