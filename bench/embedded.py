"""`python -m bench.embedded`: the embedded stack (`make run` on PostgreSQL), sequential rows.

Runs `manage.py devserver` (web, broker, relay, consumers, beat in one process) on the benchmark's
database with DEBUG off, gives a demo driver a trip, and times `healthz`, `currentTrip` and a
location ping over one keep-alive connection.
"""

import os
import sys

import django
import httpx

from bench.processes import free_port, start_process, stop_all, wait_until
from bench.report import percentile
from bench.run import LOG_DIR, OUT_DIR, environment_apply, say


def main() -> int:
    requests = int(os.environ.get("BENCH_REQUESTS", "300"))
    env = environment_apply(var_dir=OUT_DIR / "embedded", drop=("SQL_COUNT_HEADER",))
    django.setup()
    from django.core.management import call_command

    from bench.sequential import sequential_rows
    from bench.world import flags_give, world_create

    call_command("migrate", interactive=False, verbosity=0)
    trips = world_create(trips=1)
    flags_give(snapshot_to=trips, kafka_to=trips)
    port = free_port()
    server = start_process(
        "devserver",
        [sys.executable, "manage.py", "devserver", "--port", str(port)],
        env={**env, "PORT": str(port)},
        log_path=LOG_DIR / "devserver.log",
    )
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200,
            timeout=120,
            what="devserver",
        )
        say("devserver up")
        rows = sequential_rows(base_url=f"http://127.0.0.1:{port}", reader=trips[0], writers=[], requests=requests)
    finally:
        stop_all([server])
    print("| operation | n | p50 ms | p90 ms | p99 ms |\n|---|--:|--:|--:|--:|")
    for operation, seconds in rows.items():
        ms = [value * 1000 for value in seconds]
        if ms:
            p50, p90, p99 = (percentile(ms, q) for q in (50, 90, 99))
            print(f"| {operation} | {len(ms)} | {p50:.2f} | {p90:.2f} | {p99:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
