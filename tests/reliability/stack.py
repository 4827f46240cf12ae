"""Real processes for the drills: the ASGI web server and workers on the test database, stopped after the test."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.processes import Child, start_web, stop_all
from tests.processes import free_port, test_database_url


def process_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a web or worker process of this test: its database, its own var directory."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "VAR_DIR": str(tmp_path),
        "FLAG_CACHE_SECONDS": "0",
        **overrides,
    }


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """`web(**env)` starts uvicorn on a free port and returns its base URL; stopped after the test."""
    started: list[Child] = []

    def start(workers: int = 2, **env: Any) -> str:
        port = free_port()
        started.append(
            start_web(
                env=process_env(tmp_path, **env), port=port, workers=workers, log_path=tmp_path / f"web-{port}.log"
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    stop_all(started)
