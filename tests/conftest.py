"""Suite-wide set-up: a reachable PostgreSQL, no silent skips on CI, shared fixtures."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import stamina
from rest_framework.test import APIClient

pytest_plugins = [
    "tests.http_servers",
    "tests.drivers",
    "tests.kafka",
    "tests.pipeline",
    "tests.reliability.stack",
    "tests.fake_aggregator",
]


def pytest_sessionstart(session: pytest.Session) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.exit(f"The suite runs on PostgreSQL: set DATABASE_URL (got {url!r}).", returncode=2)
    import dj_database_url
    import psycopg

    params = dj_database_url.parse(url)
    try:
        psycopg.connect(
            dbname="postgres",
            user=params["USER"] or None,
            password=params["PASSWORD"] or None,
            host=params["HOST"] or None,
            port=params["PORT"] or None,
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        pytest.exit(f"Cannot connect to PostgreSQL at DATABASE_URL={url}: {exc}".strip(), returncode=2)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") == "true" and skipped:
        terminalreporter.write_line(f"CI=true: {len(skipped)} skipped test(s) count as failures.", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped and session.exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def auth(client: APIClient, token: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2 is slow on purpose; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_flag_cache() -> Any:
    """Flags are cached per process for a few seconds; a test must not see another test's flags."""
    from django.core.cache import caches

    caches["flags"].clear()
    yield
    caches["flags"].clear()


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Any:
    """Throttles count in the default cache; a test must not inherit another test's failed logins."""
    from django.core.cache import caches

    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture(autouse=True)
def outbound_retries_without_waits() -> Iterator[None]:
    # Retries still happen as configured (attempts are capped far above any setting); only the backoff is skipped.
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield
