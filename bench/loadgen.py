"""Runs locust (`bench/locustfile.py`) headless in its own process and reads back every request it sent."""

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.processes import BASE_DIR, BenchError
from bench.world import Trip


@dataclass(frozen=True)
class Sample:
    operation: str
    started: float  # Unix time
    ms: float
    error: bool
    sql: int | None


@dataclass
class LoadRun:
    """One locust run: its samples, its wall time and the CPU the generator itself used."""

    variant: str
    load: str  # "open 50/s", ..., "saturation"
    rate: float | None
    samples: list[Sample]
    wall_seconds: float  # from the first request sent to the last answer read
    generator_cpu_seconds: float
    process_seconds: float  # the locust process's whole life

    @property
    def generator_cpu_share(self) -> float:
        """Cores the load generator kept busy, on average over its life."""
        return self.generator_cpu_seconds / self.process_seconds if self.process_seconds else 0.0


def locust_run(
    *,
    base_url: str,
    trips: list[Trip],
    variant: str,
    mode: str,
    users: int,
    user_rate: float,
    seconds: float,
    work_dir: Path,
    rate: float | None = None,
) -> LoadRun:
    """Run locust with `users` drivers for at most `seconds` (saturation ends when the trips run out)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    label = f"{variant}-{mode}-{int(rate or 0)}"
    trips_file, samples_file = work_dir / f"{label}-trips.json", work_dir / f"{label}-samples.json"
    trips_file.write_text(json.dumps([{"token": t.token, "albaik_identifier": t.albaik_identifier} for t in trips]))
    samples_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_MODE": mode,
        "BENCH_TRIPS_FILE": str(trips_file),
        "BENCH_SAMPLES_FILE": str(samples_file),
        "BENCH_USER_RATE": str(user_rate),
        "PYTHONPATH": str(BASE_DIR),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(BASE_DIR / "bench" / "locustfile.py"), "--headless",
        "--host", base_url, "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds:.0f}s",
        "--stop-timeout", "10", "--only-summary", "--loglevel", "ERROR", "--exit-code-on-error", "0",
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with (work_dir / f"{label}.log").open("wb") as log:
        finished = subprocess.run(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=600)
    process_seconds = wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode != 0 or not samples_file.exists():
        raise BenchError(f"locust exited with {finished.returncode}; see {work_dir / f'{label}.log'}")
    raw = json.loads(samples_file.read_text())
    samples = [Sample(name, start, ms, error, int(sql) if sql else None) for name, start, ms, error, sql in raw]
    if samples:  # the requests' own span, without locust's start-up and shutdown
        first = min(s.started for s in samples)
        wall = max(s.started + s.ms / 1000.0 for s in samples) - first
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    load = "saturation" if mode == "saturation" else f"open {rate:g}/s"
    return LoadRun(
        variant=variant,
        load=load,
        rate=rate,
        samples=samples,
        wall_seconds=wall,
        generator_cpu_seconds=cpu,
        process_seconds=process_seconds,
    )
