"""`make bench` runs end to end and writes what CONTRACT §1 promises (no timing is asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parents[2]
# The smallest run that still goes through every part: one open-loop rate, a short saturation.
TINY = {
    "QUICK": "1",
    "BENCH_RATES": "8",
    "BENCH_SECONDS": "2",
    "BENCH_SATURATION_TRIPS": "3",
    "BENCH_SEQUENTIAL_REQUESTS": "5",
    "BENCH_SEQUENTIAL_WRITERS": "2",
    "BENCH_LAG_TRIPS": "1",
    "BENCH_OUTBOX_EVENTS": "20",
    "BENCH_SATURATION_USERS": "2",
}


def test_the_benchmark_writes_the_contracts_fields(tmp_path: Path) -> None:
    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    bench_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{params['NAME']}_bench_harness"
    env = {**os.environ, **TINY, "BENCH_DATABASE_URL": bench_url, "BENCH_OUT_DIR": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, "-m", "bench.run"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    assert {"meta", "rows", "pipeline"} <= results.keys()
    assert {"relay_events_per_second", "consumer_events_per_second", "dashboard_p99_ms"} <= results["pipeline"].keys()
    # Commit → dashboard per load, so a goal at one rate is read at that rate.
    assert results["pipeline"]["detail"]["dashboard_by_load"].keys() == {"open 8/s", "saturation"}
    fields = {"operation", "variant", "n", "p50_ms", "p90_ms", "p99_ms", "per_second", "errors"}
    assert all(fields <= row.keys() for row in results["rows"])
    variants = {(row["operation"], row["variant"]) for row in results["rows"]}
    for operation in ("healthz", "currentTrip", "updateOrder", "updateDriverProfile"):
        assert (operation, "sequential") in variants
    for operation in ("currentTrip", "updateOrder", "updateDriverProfile"):
        assert {(operation, "old"), (operation, "new")} <= variants
    assert all(row["errors"] == 0 for row in results["rows"])
    assert (tmp_path / "report.md").read_text().startswith("# Benchmark")
    assert (tmp_path / "percentiles.png").read_bytes().startswith(b"\x89PNG")
