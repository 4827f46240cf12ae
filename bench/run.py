"""`make bench`: the old synchronous paths against the new design, measured in one run against a real server.

1. `currentTrip` with `driver_current_trip_snapshot` off (assembled from normal data) and on (one
   primary-key read of the CurrentTrip row).
2. `updateOrder`, the scan (OUT_FOR_DELIVERY) then DELIVERED of each trip, with every flag off (push,
   dashboard broadcast, driver status and the WASEAT close done in the request, against a stand-in for
   WASEAT and the push gateway that answers in 20-50 ms) and with every flag on (the work moves to the
   Kafka consumers).
3. The pipeline: how long after the answered request the consumers' push and WASEAT close arrive (one
   trip at a time, and during the blocks of step 2), and how fast the outbox relay and a consumer drain
   a burst of events.

The web server, the relay, each consumer and the embedded broker run as separate processes, as
docker-compose runs them. Flags are per driver, so both variants run on the same server in the same
run: drivers are split into groups, one per variant, and the variants take turns in blocks (ABAB...)
so drift on a shared machine falls on both. Sizes: `QUICK=1` (under two minutes) or the full run.
"""

import datetime
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import django

from bench.database import DEFAULT_DATABASE_URL, database_recreate
from bench.load import DriverApps
from bench.processes import (
    BASE_DIR,
    BenchError,
    Child,
    free_port,
    git_commit,
    start_broker,
    start_web,
    start_workers,
    stop_all,
)
from bench.report import Row, rows_as_dicts, table, write
from bench.stub import ExternalServices

if TYPE_CHECKING:
    from bench.outbox import BurstResult
    from bench.scenarios import Measured, UpdateOrderResult

OUT_DIR = BASE_DIR / "var" / "bench"
LOG_DIR = OUT_DIR / "logs"
# Settings the benchmark decides for every process it runs, whatever the caller's shell holds.
UNSET = (
    "DATABASE_URL",
    "REDIS_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_TOPIC_PREFIX",
    "WASEAT_BASE_URL",
    "PUSH_GATEWAY_URL",
    "RAPPI_API_BASE_URL",
    "PORT",
)
SETTLE_TIMEOUT = 300.0
OFF_PATH, ON_PATH = "flags off: side work in the request", "flags on: side work in consumers"
ALONE = "flags on, one trip at a time"
LAG_ROWS = {
    "push_scan": "consumer lag: push after OUT_FOR_DELIVERY",
    "waseat": "consumer lag: WASEAT close after DELIVERED",
    "push_delivered": "consumer lag: push after DELIVERED",
}
STARTED = time.perf_counter()


@dataclass(frozen=True)
class Plan:
    """Sample sizes. Requests and trips are per variant; each variant runs `rounds` blocks."""

    quick: bool
    clients: int
    web_workers: int
    external_delay_ms: tuple[float, float]
    current_trip_drivers: int
    current_trip_rounds: int
    current_trip_requests: int  # per block
    current_trip_warmup: int
    update_rounds: int
    update_trips: int  # per block
    update_warmup_trips: int
    lag_trips: int  # flags on, one at a time
    outbox_events: int

    @property
    def trips(self) -> int:
        per_variant = self.current_trip_drivers + self.update_warmup_trips + self.update_rounds * self.update_trips
        return 2 * per_variant + self.lag_trips


def plan_from_environment() -> Plan:
    quick = os.environ.get("QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
    low, _, high = os.environ.get("BENCH_EXTERNAL_DELAY_MS", "20-50").partition("-")
    common: dict[str, Any] = {
        "clients": int(os.environ.get("BENCH_CLIENTS", "4")),
        "web_workers": int(os.environ.get("BENCH_WEB_WORKERS", "2")),
        "external_delay_ms": (float(low), float(high or low)),
        "current_trip_drivers": 8,
    }
    if quick:
        return Plan(
            quick=True,
            current_trip_rounds=2,
            current_trip_requests=200,
            current_trip_warmup=40,
            update_rounds=2,
            update_trips=20,
            update_warmup_trips=4,
            lag_trips=6,
            outbox_events=1000,
            **common,
        )
    return Plan(
        quick=False,
        current_trip_rounds=4,
        current_trip_requests=1200,
        current_trip_warmup=200,
        update_rounds=4,
        update_trips=60,
        update_warmup_trips=8,
        lag_trips=20,
        outbox_events=5000,
        **common,
    )


def say(message: str) -> None:
    print(f"[bench {time.perf_counter() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def environment(*, database_url: str, var_dir: Path) -> dict[str, str]:
    """Production-like settings (DEBUG off) on the benchmark's own database and var/ directory."""
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "VAR_DIR": str(var_dir),
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-not-for-production",
            "RAPPI_WEBHOOK_SECRET": "bench-rappi-webhook-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def main() -> int:
    plan = plan_from_environment()
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    var_dir = OUT_DIR / "run"
    env = environment(database_url=database_url, var_dir=var_dir)
    mode = "QUICK" if plan.quick else "full"
    say(f"{mode} run: {plan.trips} trips, {plan.clients} client threads, {plan.web_workers} web workers")
    database = database_recreate(database_url)
    say(f"database {database} created")
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(env)
    django.setup()
    # Celery runs eagerly here; its broker-less warning would only clutter the output.
    logging.getLogger("kombu").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    say("migrated")

    low, high = plan.external_delay_ms
    external = ExternalServices(min_delay=low / 1000.0, max_delay=high / 1000.0)
    external.start()
    child_env = {**env, "WASEAT_BASE_URL": external.url, "WASEAT_API_KEY": "bench", "PUSH_GATEWAY_URL": external.url}
    from consumers.registry import all_consumers

    # Process groups in start order; stopped in reverse (the web server, the workers, then the broker).
    children: list[list[Child]] = []
    try:
        children.append(
            [start_broker(env=child_env, bootstrap_file=var_dir / "kafka.bootstrap", log_path=LOG_DIR / "broker.log")]
        )
        consumers = [definition.name for definition in all_consumers()]
        children.append(
            start_workers(env=child_env, consumers=consumers, liveness_dir=var_dir / "consumers", log_dir=LOG_DIR)
        )
        say(f"embedded broker, outbox relay and {len(consumers)} consumers started, one process each")
        measured = measure(plan, external=external, child_env=child_env, children=children)
        return report(plan, measured, database=database)
    finally:
        for group in reversed(children):
            stop_all(group)
        external.stop()


@dataclass
class Measurements:
    current_trip: dict[str, "Measured"]
    update_order: "UpdateOrderResult"
    relay_latencies: list[float]
    lags_alone: dict[str, list[float]]
    lags_in_blocks: dict[str, list[float]]
    burst: "BurstResult"
    failed: list[str]


def measure(
    plan: Plan, *, external: ExternalServices, child_env: dict[str, str], children: list[list[Child]]
) -> Measurements:
    from bench.outbox import outbox_burst, pipeline_settle, relay_latencies
    from bench.scenarios import effects_examine, measure_current_trip, measure_lag_alone, measure_update_order
    from bench.world import flags_give, world_create

    trips = world_create(trips=plan.trips)
    say(f"{len(trips)} trips ready for pick-up")
    # Drivers alternate between the groups, so neither variant gets, say, all the early ids.
    current, update = trips[: 2 * plan.current_trip_drivers], trips[2 * plan.current_trip_drivers : -plan.lag_trips]
    alone = trips[-plan.lag_trips :]
    current_groups = {"off": current[0::2], "on": current[1::2]}
    update_groups = {"off": update[0::2], "on": update[1::2]}
    flags_give(snapshot_to=current_groups["on"] + update_groups["on"] + alone, kafka_to=update_groups["on"] + alone)

    port = free_port()
    children.append([start_web(env=child_env, port=port, workers=plan.web_workers, log_path=LOG_DIR / "web.log")])
    say(f"web server on 127.0.0.1:{port} (uvicorn config.asgi:application)")
    settled = pipeline_settle(timeout=SETTLE_TIMEOUT)
    say(f"pipeline settled after set-up ({settled:.1f} s)")
    apps = DriverApps(base_url=f"http://127.0.0.1:{port}", clients=plan.clients)
    try:
        current_trip = measure_current_trip(
            apps,
            current_groups,
            rounds=plan.current_trip_rounds,
            requests=plan.current_trip_requests,
            warmup=plan.current_trip_warmup,
        )
        say("currentTrip measured")
        update_order = measure_update_order(
            apps,
            update_groups,
            rounds=plan.update_rounds,
            trips=plan.update_trips,
            warmup=plan.update_warmup_trips,
            settle_timeout=SETTLE_TIMEOUT,
        )
        say("updateOrder measured")
        lags_alone = measure_lag_alone(apps, alone, external, timeout=SETTLE_TIMEOUT)
        say("consumer lag measured, one trip at a time")
    finally:
        apps.close()
    lags_in_blocks, failed = effects_examine(update_order, external)
    pipeline_settle(timeout=SETTLE_TIMEOUT)
    burst = outbox_burst(events=plan.outbox_events, drivers=trips, timeout=SETTLE_TIMEOUT)
    say("outbox burst measured")
    for group in children:
        for child in group:
            child.check_alive()
    return Measurements(
        current_trip=current_trip,
        update_order=update_order,
        relay_latencies=relay_latencies(
            albaik_identifiers=[trip.albaik_identifier for trip in alone],
            event_types=["delivery.out_for_delivery", "delivery.delivered"],
        ),
        lags_alone=lags_alone,
        lags_in_blocks=lags_in_blocks,
        burst=burst,
        failed=failed,
    )


def table_rows(plan: Plan, measured: Measurements) -> list[Row]:
    """The table: each new-design row right under its baseline (flag off)."""
    rows: list[Row] = []
    comparisons = (
        (
            "currentTrip",
            measured.current_trip,
            "snapshot off: assembled from normal data",
            "snapshot on: CurrentTrip row",
        ),
        ("updateOrder OUT_FOR_DELIVERY", measured.update_order.scans, OFF_PATH, ON_PATH),
        ("updateOrder DELIVERED", measured.update_order.delivers, OFF_PATH, ON_PATH),
    )
    for operation, variants, off_label, on_label in comparisons:
        off = Row.of(operation, off_label, variants["off"].seconds, wall_seconds=variants["off"].wall_seconds)
        on = Row.of(operation, on_label, variants["on"].seconds, wall_seconds=variants["on"].wall_seconds, baseline=off)
        rows.extend([off, on])
    rows.append(Row.of("relay latency: outbox row to broker", ALONE, measured.relay_latencies))
    for name, operation in LAG_ROWS.items():
        rows.append(Row.of(operation, ALONE, measured.lags_alone[name]))
        rows.append(
            Row.of(operation, f"flags on, in the blocks of {plan.update_trips} trips", measured.lags_in_blocks[name])
        )
    burst = measured.burst
    variant = f"{burst.events} events in one commit"
    rows.append(Row.rate("outbox burst: relay publishes", variant, count=burst.events, seconds=burst.relay_seconds))
    rows.append(
        Row.rate("outbox burst: relay + normal_data", variant, count=burst.events, seconds=burst.consumer_seconds)
    )
    return rows


def report(plan: Plan, measured: Measurements, *, database: str) -> int:
    """Print the table, write var/bench/results.json and report.md; 1 when a check failed."""
    rows = table_rows(plan, measured)
    rendered = table(rows)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": _server_version(),
        "database": database,
        "mode": "quick" if plan.quick else "full",
        "duration_seconds": round(time.perf_counter() - STARTED, 1),
    }
    samples = {
        "currentTrip": measured.current_trip,
        "updateOrder OUT_FOR_DELIVERY": measured.update_order.scans,
        "updateOrder DELIVERED": measured.update_order.delivers,
    }
    burst = measured.burst
    results = {
        "meta": meta,
        "plan": asdict(plan),
        "rows": rows_as_dicts(rows),
        "samples_ms": {
            **{
                f"{operation}/{variant}": _ms(variant_samples.seconds)
                for operation, by_variant in samples.items()
                for variant, variant_samples in by_variant.items()
            },
            "relay latency/alone": _ms(measured.relay_latencies),
            **{f"lag {name}/alone": _ms(values) for name, values in measured.lags_alone.items()},
            **{f"lag {name}/blocks": _ms(values) for name, values in measured.lags_in_blocks.items()},
        },
        "outbox_burst": asdict(burst)
        | {
            "relay_events_per_second": burst.relay_events_per_second,
            "consumer_events_per_second": burst.consumer_events_per_second,
        },
        "checks_failed": measured.failed,
    }
    markdown = _markdown(meta=meta, plan=plan, rendered=rendered, failed=measured.failed)
    json_path, markdown_path = write(OUT_DIR, results=results, markdown=markdown)
    print(rendered)
    print(f"\n{meta['git_commit']} · {meta['cores']} cores · {meta['mode']} run · {meta['duration_seconds']} s")
    print(f"written: {json_path.relative_to(BASE_DIR)}, {markdown_path.relative_to(BASE_DIR)}")
    if measured.failed:
        print(f"\n{len(measured.failed)} check(s) failed:", *measured.failed[:20], sep="\n  ", file=sys.stderr)
        return 1
    return 0


def _server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else "unknown"


def _ms(seconds: list[float]) -> list[float]:
    return [round(value * 1000.0, 3) for value in seconds]


def _markdown(*, meta: dict[str, Any], plan: Plan, rendered: str, failed: list[str]) -> str:
    low, high = plan.external_delay_ms
    lines = [
        f"# Benchmark, {meta['date']}",
        "",
        f"- commit `{meta['git_commit']}`; {meta['cores']} cores; {meta['platform']}; Python {meta['python']};"
        f" PostgreSQL {meta['postgresql']}",
        f"- {meta['mode']} run in {meta['duration_seconds']} s; {plan.clients} client threads over keep-alive HTTP",
        f"- processes as docker-compose runs them: uvicorn `config.asgi:application` ({plan.web_workers} workers,"
        " DEBUG off), `relay_outbox`, one `consume <name>` per consumer, and the embedded Kafka-protocol broker;"
        " all on this machine with the client and PostgreSQL",
        f"- WASEAT and the push gateway: a local HTTP server answering after {low:.0f}-{high:.0f} ms",
        "- both variants of each operation in the same run, in alternating blocks (flags are per driver);"
        " latencies are the client's, from request sent to answer read",
        "",
        rendered,
        "",
        "- p50 speed-up = baseline (flag off) p50 / row p50; req/s ratio = row req/s / baseline req/s.",
        "- Consumer lag: from the answered request to the consumer's request arriving at WASEAT or the push"
        " gateway. One trip at a time, it is the pipeline's own delay; with the embedded broker most of it is"
        " the consumer's fetch wait (librdkafka `fetch.wait.max.ms`, 500 ms by default: the mock cluster does"
        " not answer a waiting fetch when data arrives, Kafka does). In the blocks it is mostly backlog: one"
        " member per consumer group handles its events one by one, each external call taking"
        f" {low:.0f}-{high:.0f} ms.",
        "- Outbox burst: events per second from one commit to the last event published (relay) or processed"
        " (normal_data consumer, bookkeeping only).",
        "",
        "Checks (each measured trip closed in WASEAT once and pushed once per status, by the path its flags"
        f" chose): {'all passed' if not failed else f'{len(failed)} failed'}",
        *(f"- {check}" for check in failed),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
