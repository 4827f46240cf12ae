"""PostgreSQL restarts under the web server, the relay and a consumer: each recovers by itself.

The drill runs its own throwaway PostgreSQL cluster (initdb/pg_ctl on a free port in a temp
directory), never the shared one. While the database is down requests may fail; once it is back,
every request succeeds again with no process restarted, the relay publishes what was written and
the normal_data consumer applies it, each fact once.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bench.processes import Child, start_web, start_workers, stop_all
from tests.driver_api.queries import UPDATE_DRIVER_STATUS
from tests.processes import BASE_DIR, free_port, wait_for
from tests.reliability.report import DrillResult, record, scale


class Cluster:
    """A throwaway PostgreSQL cluster owned by this drill."""

    def __init__(self) -> None:
        bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.root = Path(tempfile.mkdtemp(prefix="drill-postgres-"))
        self.data = self.root / "data"
        self.port = free_port()
        # PostgreSQL refuses to run as root: the cluster then belongs to the system's postgres user.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.root, user="postgres")
        self.pg_ctl = str(bindir / "pg_ctl")
        subprocess.run(
            [*self.as_owner, str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N"],
            check=True,
            capture_output=True,
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/drill"

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [*self.as_owner, self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "postgres.log")]
        subprocess.run([*command, "-w", "-o", options, *args], check=True, capture_output=True)

    def query(self, sql: str, *params: Any) -> Any:
        return self.execute(sql, *params, dbname="drill")

    def execute(self, sql: str, *params: Any, dbname: str) -> Any:
        db = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)
        try:
            with db.cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone() if cursor.description else None
                return row[0] if row else None
        finally:
            db.close()

    def destroy(self) -> None:
        try:
            self.ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    own.ctl("start")
    try:
        own.execute("CREATE DATABASE drill", dbname="postgres")
        yield own
    finally:
        own.destroy()


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_web_and_workers_recover_by_themselves_after_postgres_restarts(
    cluster: Cluster, kafka: Any, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.prefix,
        "VAR_DIR": str(tmp_path),
        "FLAG_CACHE_SECONDS": "0",
    }
    manage(env, "migrate", "--noinput")
    seed = json.loads(manage(env, "seed_demo", "--json"))
    manage(env, "waffle_flag", "kafka_driver_status", "--everyone", "--create")
    driver = seed["drivers"][0]
    port = free_port()
    children: list[Child] = []
    try:
        children.append(start_web(env=env, port=port, workers=1, log_path=tmp_path / "web.log"))
        children += start_workers(
            env=env, consumers=["normal_data"], liveness_dir=tmp_path / "consumers", log_dir=tmp_path
        )
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, headers={"Authorization": f"Token {driver['token']}"}
        )
        statuses = iter(["AVAILABLE", "UNAVAILABLE"] * 1000)

        def toggle() -> bool:
            body = {"query": UPDATE_DRIVER_STATUS, "variables": {"status": next(statuses)}}
            try:
                response = client.post("/graphql/", json=body)
            except httpx.HTTPError:
                return False
            return response.status_code == 200 and response.json()["data"]["updateDriverStatus"]["errors"] == []

        def applied() -> bool:
            """Every driver.status_changed published and applied by normal_data, once each."""
            events = cluster.query("SELECT count(*) FROM events_outboxevent WHERE type = 'driver.status_changed'")
            published = cluster.query("SELECT count(*) FROM events_outboxevent WHERE published_at IS NOT NULL")
            total = cluster.query("SELECT count(*) FROM events_outboxevent")
            rows = cluster.query(
                "SELECT count(*) FROM delivery_driverstatuschange WHERE driver_id = %s AND event_id IS NOT NULL",
                driver["id"],
            )
            return published == total and rows == events

        assert toggle()
        wait_for(applied, timeout=60, interval=0.2, what="the first status applied")

        before = 1
        cluster.ctl("stop", "-m", "fast")
        down_requests = [toggle() for _ in range(scale(3, 10))]  # answered while the database is down
        cluster.ctl("start")
        back = time.monotonic()
        wait_for(toggle, timeout=60, interval=0.5, what="the web server to answer again")
        recovered = time.monotonic() - back
        after = [toggle() for _ in range(scale(10, 50))]
        wait_for(applied, timeout=90, interval=0.5, what="the relay and normal_data to catch up")
        for child in children:
            child.check_alive()  # nobody restarted them

        events = cluster.query("SELECT count(*) FROM events_outboxevent WHERE type = 'driver.status_changed'")
        rows = cluster.query(
            "SELECT count(*) FROM delivery_driverstatuschange WHERE driver_id = %s AND event_id IS NOT NULL",
            driver["id"],
        )
        record(
            DrillResult(
                drill="PostgreSQL restarted under web, relay and consumer",
                requests=before + len(down_requests) + 1 + len(after),
                failed_requests=after.count(False),
                events_lost=max(0, events - rows),
                duplicate_effects=max(0, rows - events),
                recover_seconds=round(recovered, 1),
            )
        )
        assert all(after)
        assert events == rows
    finally:
        stop_all(children)
