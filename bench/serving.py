"""`python -m bench.serving`: the same sequential rows under each web server, to choose the production one.

Production settings (DEBUG off), PostgreSQL, every flag on, one worker per server unless
`BENCH_WEB_WORKERS` says otherwise; no relay or consumers (the rows measure the request only).
"""

import os
import sys

import django

from bench.processes import free_port, start_web, stop_all
from bench.report import percentile
from bench.run import LOG_DIR, OUT_DIR, environment_apply, say
from bench.servers import SERVERS


def main() -> int:
    servers = [name for name in os.environ.get("BENCH_SERVERS", ",".join(SERVERS)).split(",") if name]
    requests = int(os.environ.get("BENCH_REQUESTS", "300"))
    writers = int(os.environ.get("BENCH_WRITERS", "20"))
    workers = int(os.environ.get("BENCH_WEB_WORKERS", "1"))
    env = environment_apply(var_dir=OUT_DIR / "run")
    django.setup()
    from django.core.management import call_command

    from bench.sequential import sequential_rows
    from bench.world import flags_give, world_create

    call_command("migrate", interactive=False, verbosity=0)
    trips = world_create(trips=1 + writers * len(servers))
    flags_give(snapshot_to=trips, kafka_to=trips)
    say(f"{len(trips)} trips ready")
    print("| server | operation | n | p50 ms | p90 ms | p99 ms |\n|---|---|--:|--:|--:|--:|")
    for index, server in enumerate(servers):
        port = free_port()
        web = start_web(env=env, port=port, workers=workers, log_path=LOG_DIR / f"web-{server}.log", server=server)
        try:
            own = trips[1 + index * writers : 1 + (index + 1) * writers]
            rows = sequential_rows(base_url=f"http://127.0.0.1:{port}", reader=trips[0], writers=own, requests=requests)
        finally:
            stop_all([web])
        for operation, seconds in rows.items():
            ms = [value * 1000 for value in seconds]
            p50, p90, p99 = (percentile(ms, q) for q in (50, 90, 99))
            print(f"| {server} | {operation} | {len(ms)} | {p50:.2f} | {p90:.2f} | {p99:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
