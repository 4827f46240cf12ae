"""`make bench`: the driver API in its production shape, under an established load generator.

Shape: the chosen web server (`bench.servers.CHOSEN`, as many workers as cores), the outbox relay
and each consumer as separate processes, the embedded Kafka-protocol broker, PostgreSQL, and a local
WASEAT and push gateway answering after 120 ms and 60 ms (`BENCH_WASEAT_MS`, `BENCH_PUSH_MS`).
Flags are per driver, so the old path (every flag off) and the new path (every flag on) run against
the same server in the same run, on separate drivers.

1. Sequential rows: one client, one keep-alive connection: `healthz` (the server's floor),
   `currentTrip`, a location ping (`updateDriverProfile`) and `updateOrder`, on the new path and the old.
2. Open loop (locust, `constant_throughput` per driver): the driver mix at 50, 100 and 200 req/s,
   old and new in turn, each run on fresh trips; the generator's own CPU is reported.
3. Closed loop: `updateOrder` as fast as the server answers (saturation), old and new.
4. The pipeline: event written → dashboard broadcast and → WASEAT close by the consumers, the relay's
   and a consumer's throughput on a burst of events.

`QUICK=1` runs every part with small samples, in under three minutes.
"""

import datetime
import logging
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import django

from bench.database import DEFAULT_DATABASE_URL, database_recreate
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
from bench.report import Row, percentile, plot, rows_as_dicts, table, write
from bench.servers import CHOSEN
from bench.stub import ExternalServices

if TYPE_CHECKING:
    from bench.world import Trip

OUT_DIR = Path(os.environ.get("BENCH_OUT_DIR", BASE_DIR / "var" / "bench"))
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
STEPS_PER_TRIP = 12  # bench/locustfile.py STEPS
STARTED = time.perf_counter()


@dataclass(frozen=True)
class Plan:
    quick: bool
    rates: tuple[float, ...]
    seconds: float  # per open-loop run
    user_rate: float  # requests per second of one driver's app
    saturation_trips: int  # per variant
    saturation_users: int
    sequential_requests: int
    sequential_writers: int  # trips per path: each is scanned, then delivered
    lag_trips: int
    outbox_events: int
    web_workers: int
    waseat_ms: float
    push_ms: float

    def users(self, rate: float) -> int:
        return math.ceil(rate / self.user_rate)

    def mix_trips(self, rate: float) -> int:
        """Each driver starts a trip every STEPS_PER_TRIP requests."""
        return self.users(rate) * math.ceil(self.seconds * self.user_rate / STEPS_PER_TRIP)

    @property
    def trips(self) -> int:
        per_variant = sum(self.mix_trips(rate) for rate in self.rates) + self.saturation_trips
        return 2 * (per_variant + self.sequential_writers) + 1 + self.lag_trips


def plan_from_environment() -> Plan:
    quick = os.environ.get("QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
    cores = os.cpu_count() or 1
    common: dict[str, Any] = {
        "rates": tuple(float(r) for r in os.environ.get("BENCH_RATES", "50,100,200").split(",")),
        "web_workers": int(os.environ.get("BENCH_WEB_WORKERS", str(cores))),
        "saturation_users": int(os.environ.get("BENCH_SATURATION_USERS", str(4 * cores))),
        "waseat_ms": float(os.environ.get("BENCH_WASEAT_MS", "120")),
        "push_ms": float(os.environ.get("BENCH_PUSH_MS", "60")),
    }
    sizes: dict[str, float] = (
        {"seconds": 3.0, "saturation_trips": 40, "sequential_requests": 100, "sequential_writers": 10, "lag_trips": 3}
        | {"outbox_events": 1000, "user_rate": 4.0}
        if quick
        else {"seconds": 30.0, "saturation_trips": 300, "sequential_requests": 1000, "sequential_writers": 60}
        | {"lag_trips": 20, "outbox_events": 5000, "user_rate": 2.0}
    )
    # Each size can be set on its own, e.g. BENCH_SECONDS=60.
    sized = {name: type(value)(os.environ.get(f"BENCH_{name.upper()}", value)) for name, value in sizes.items()}
    return Plan(quick=quick, **{**common, **sized})


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
            "SQL_COUNT_HEADER": "1",
        }
    )
    return env


def environment_apply(*, var_dir: Path, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """Recreate the benchmark's database and apply `environment()` (less `drop`) to this process, before
    `django.setup()`; returns that environment for child processes."""
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    env = environment(database_url=database_url, var_dir=var_dir)
    for name in drop:
        env.pop(name, None)
    database_recreate(database_url)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def main() -> int:
    plan = plan_from_environment()
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    var_dir = OUT_DIR / "run"
    env = environment(database_url=database_url, var_dir=var_dir)
    mode = "QUICK" if plan.quick else "full"
    say(f"{mode} run: {plan.trips} trips, {CHOSEN} with {plan.web_workers} workers, rates {plan.rates}")
    database = database_recreate(database_url)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(env)
    django.setup()
    # Celery runs eagerly here; its broker-less warning would only clutter the output.
    logging.getLogger("kombu").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    external = ExternalServices(waseat_delay=plan.waseat_ms / 1000.0, push_delay=plan.push_ms / 1000.0)
    external.start()
    child_env = {**env, "WASEAT_BASE_URL": external.url, "WASEAT_API_KEY": "bench", "PUSH_GATEWAY_URL": external.url}
    from consumers.registry import all_consumers

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
        results = measure(plan, child_env=child_env, children=children, external=external)
        return report(plan, results, database=database)
    finally:
        for group in reversed(children):
            stop_all(group)
        external.stop()


@dataclass
class Results:
    rows: list[Row]
    generator: list[dict[str, Any]]
    pipeline: dict[str, Any]


def measure(
    plan: Plan, *, child_env: dict[str, str], children: list[list[Child]], external: ExternalServices
) -> Results:
    from bench.loadgen import locust_run
    from bench.outbox import outbox_burst, pipeline_settle
    from bench.sequential import sequential_rows
    from bench.world import flags_give, world_create

    trips = world_create(trips=plan.trips, arrived=False)
    say(f"{len(trips)} trips assigned, the restaurant collecting each")
    taken = 0

    def take(count: int) -> list["Trip"]:
        nonlocal taken
        taken += count
        return trips[taken - count : taken]

    reader = take(1)
    sequential = {"new": take(plan.sequential_writers), "old": take(plan.sequential_writers)}
    mix = {(variant, rate): take(plan.mix_trips(rate)) for rate in plan.rates for variant in ("old", "new")}
    saturation = {variant: take(plan.saturation_trips) for variant in ("old", "new")}
    alone = take(plan.lag_trips)
    new_trips = reader + sequential["new"] + alone + saturation["new"]
    new_trips += [trip for (variant, _), group in mix.items() if variant == "new" for trip in group]
    flags_give(snapshot_to=new_trips, kafka_to=new_trips)

    port = free_port()
    web_log = LOG_DIR / "web.log"
    children.append([start_web(env=child_env, port=port, workers=plan.web_workers, log_path=web_log)])
    base_url = f"http://127.0.0.1:{port}"
    say(f"web server on {base_url} ({CHOSEN}, {plan.web_workers} workers)")
    pipeline_settle(timeout=SETTLE_TIMEOUT)

    rows: list[Row] = []
    for path in ("new", "old"):
        reader_trip = reader[0] if path == "new" else sequential["old"][0]
        seconds = sequential_rows(
            base_url=base_url, reader=reader_trip, writers=sequential[path], requests=plan.sequential_requests
        )
        for operation, values in seconds.items():
            if path == "old" and operation in {"healthz", "updateDriverProfile"}:
                continue  # the same on both paths
            ms = [value * 1000.0 for value in values]
            rows.append(
                Row.of(
                    operation=operation,
                    variant="sequential",
                    load="sequential",
                    ms=ms,
                    path=path,
                    wall_seconds=sum(values),  # back to back: one request's time is the next one's wait
                )
            )
        pipeline_settle(timeout=SETTLE_TIMEOUT)
    say("sequential rows measured")

    generator: list[dict[str, Any]] = []
    work_dir = OUT_DIR / "locust"
    runs = []
    for index, rate in enumerate(plan.rates):
        # Old and new take turns going first, so drift on a shared machine falls on both.
        for variant in ("old", "new") if index % 2 == 0 else ("new", "old"):
            run = locust_run(
                base_url=base_url,
                trips=mix[(variant, rate)],
                variant=variant,
                mode="mix",
                users=plan.users(rate),
                user_rate=plan.user_rate,
                seconds=plan.seconds,
                work_dir=work_dir,
                rate=rate,
            )
            runs.append(run)
            say(f"open loop {rate:g} req/s, {variant}: {len(run.samples)} requests")
            pipeline_settle(timeout=SETTLE_TIMEOUT)
    for variant in ("old", "new"):
        run = locust_run(
            base_url=base_url,
            trips=saturation[variant],
            variant=variant,
            mode="saturation",
            users=plan.saturation_users,
            user_rate=0,
            seconds=120,
            work_dir=work_dir,
        )
        runs.append(run)
        say(f"saturation, {variant}: {len(run.samples)} requests")
        pipeline_settle(timeout=SETTLE_TIMEOUT)
    for run in runs:
        generator.append(
            {
                "load": run.load,
                "variant": run.variant,
                "cpu_seconds": round(run.generator_cpu_seconds, 2),
                "process_seconds": round(run.process_seconds, 2),
                "cores_used": round(run.generator_cpu_share, 2),
            }
        )
        rows.extend(load_rows(run))

    by_load = {f"open {rate:g}/s": mix[("new", rate)] for rate in plan.rates} | {"saturation": saturation["new"]}
    pipeline = pipeline_measure(plan, alone=alone, by_load=by_load, external=external, base_url=base_url)
    burst = outbox_burst(events=plan.outbox_events, drivers=trips, timeout=SETTLE_TIMEOUT)
    pipeline.update(
        relay_events_per_second=round(burst.relay_events_per_second, 1),
        consumer_events_per_second=round(burst.consumer_events_per_second, 1),
        burst_events=burst.events,
    )
    say("pipeline measured")
    pipeline_settle(timeout=SETTLE_TIMEOUT)
    from bench.stub import WASEAT_CLOSE
    from delivery.models import Delivery, DeliveryStatus

    delivered = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).values_list(
        "order__albaik_identifier", flat=True
    )
    checks_failed = [
        f"{albaik}: closed in WASEAT {closes} times"
        for albaik in delivered
        if (closes := len(external.arrivals(WASEAT_CLOSE, albaik))) != 1
    ]
    pipeline["delivered_orders"] = len(delivered)
    pipeline["checks_failed"] = checks_failed
    for group in children:
        for child in group:
            child.check_alive()
    return Results(rows=compared(rows), generator=generator, pipeline=pipeline)


def load_rows(run: Any) -> list[Row]:
    """One row per operation of a locust run."""
    rows = []
    for operation in sorted({sample.operation for sample in run.samples}):
        samples = [sample for sample in run.samples if sample.operation == operation]
        rows.append(
            Row.of(
                operation=operation,
                variant=run.variant,
                load=run.load,
                ms=[sample.ms for sample in samples],
                errors=sum(sample.error for sample in samples),
                wall_seconds=run.wall_seconds,
                sql=[sample.sql for sample in samples if sample.sql is not None],
            )
        )
    return rows


def compared(rows: list[Row]) -> list[Row]:
    """Each new-path row carries old p50 / new p50 of the same operation and load."""
    old = {(row.operation, row.load): row for row in rows if row.variant == "old" or row.path == "old"}
    result = []
    for row in rows:
        baseline = old.get((row.operation, row.load))
        is_new = row.variant == "new" or row.path == "new"
        result.append(row.against(baseline) if is_new and baseline is not None else row)
    return result


def pipeline_measure(
    plan: Plan,
    *,
    alone: list["Trip"],
    by_load: dict[str, list["Trip"]],
    external: ExternalServices,
    base_url: str,
) -> dict[str, Any]:
    """Event written (in the committing transaction) → the consumer's dashboard broadcast and WASEAT close.

    Over every new-path event of the run (under load), over the new-path trips of each load (`by_load`:
    each open-loop rate, saturation) and over `alone` trips sent one at a time.
    Both ends are timestamps the processes wrote (outbox `created_at`, the effect's record `at`).
    """
    import httpx

    from bench.sequential import graphql
    from events.models import OutboxEvent
    from side_effects.models import EffectKind, EffectPath, EffectRecord
    from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER

    def latencies(albaik_identifiers: list[str] | None, kind: str) -> list[float]:
        records = EffectRecord.objects.filter(kind=kind, path=EffectPath.CONSUMER, event_id__isnull=False)
        if albaik_identifiers is not None:
            records = records.filter(albaik_identifier__in=albaik_identifiers)
        written = dict(
            OutboxEvent.objects.filter(event_id__in=records.values("event_id")).values_list("event_id", "created_at")
        )
        return [
            (record.at - written[record.event_id]).total_seconds() * 1000.0
            for record in records
            if record.event_id in written
        ]

    from bench.outbox import pipeline_settle

    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for trip in alone:
            graphql(client, trip.token, UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
            for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
                graphql(client, trip.token, UPDATE_ORDER, albaikIdentifier=trip.albaik_identifier, status=status)
                pipeline_settle(timeout=SETTLE_TIMEOUT)
    names = [trip.albaik_identifier for trip in alone]
    result: dict[str, Any] = {}
    for label, kind in (("dashboard", EffectKind.BROADCAST), ("waseat", EffectKind.WASEAT_CLOSE)):
        for scope, ids in (("alone", names), ("under_load", None)):
            values = latencies(ids, kind)
            result[f"{label}_{scope}"] = {
                "n": len(values),
                "p50_ms": round(percentile(values, 50), 1) if values else None,
                "p99_ms": round(percentile(values, 99), 1) if values else None,
                "max_ms": round(max(values), 1) if values else None,
            }
    for label, kind in (("dashboard", EffectKind.BROADCAST), ("waseat", EffectKind.WASEAT_CLOSE)):
        result[f"{label}_by_load"] = {}
        for load, group in by_load.items():
            values = latencies([trip.albaik_identifier for trip in group], kind)
            result[f"{label}_by_load"][load] = {
                "n": len(values),
                "p50_ms": round(percentile(values, 50), 1) if values else None,
                "p99_ms": round(percentile(values, 99), 1) if values else None,
            }
    result["dashboard_p99_ms"] = result["dashboard_under_load"]["p99_ms"]
    result["waseat_p99_ms"] = result["waseat_under_load"]["p99_ms"]
    return result


def report(plan: Plan, results: Results, *, database: str) -> int:
    """Print the table, write var/bench/ (results.json, report.md, the plot)."""
    rendered = table(results.rows)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "postgresql": _server_version(),
        "database": database,
        "server": CHOSEN,
        "web_workers": plan.web_workers,
        "load_generator": "locust (FastHttpUser), one process on the same machine",
        "mode": "quick" if plan.quick else "full",
        "duration_seconds": round(time.perf_counter() - STARTED, 1),
    }
    pipeline = {
        key: results.pipeline[key]
        for key in ("relay_events_per_second", "consumer_events_per_second", "dashboard_p99_ms")
    }
    plot_path = plot(results.rows, OUT_DIR / "percentiles.png")
    document = {
        "meta": meta,
        "plan": asdict(plan),
        "rows": rows_as_dicts(results.rows),
        "pipeline": pipeline | {"detail": results.pipeline},
        "generator": results.generator,
        "plot": plot_path.name,
    }
    markdown = _markdown(meta=meta, plan=plan, rendered=rendered, results=results)
    json_path, markdown_path = write(OUT_DIR, results=document, markdown=markdown)
    print(rendered)
    print(_pipeline_text(results))
    print(f"\n{meta['git_commit']} · {meta['cores']} cores · {meta['mode']} run · {meta['duration_seconds']} s")
    print(f"written in {OUT_DIR}: {json_path.name}, {markdown_path.name}, {plot_path.name}")
    failed = results.pipeline["checks_failed"]
    print(f"WASEAT closes: each of {results.pipeline['delivered_orders']} delivered orders once: {not failed}")
    if failed:
        print(f"{len(failed)} check(s) failed:", *failed[:20], sep="\n  ", file=sys.stderr)
    return 1 if failed else 0


def _pipeline_text(results: Results) -> str:
    p = results.pipeline
    lines = [
        "",
        "pipeline (event written → effect recorded by the consumer):",
        *(
            f"  {key}: n={value['n']} p50={value['p50_ms']} ms p99={value['p99_ms']} ms max={value['max_ms']} ms"
            for key, value in p.items()
            if isinstance(value, dict) and "n" in value
        ),
        *(
            f"  {label} by load: "
            + ", ".join(f"{load} p50={v['p50_ms']} p99={v['p99_ms']} ms (n={v['n']})" for load, v in p[key].items())
            for label, key in (("dashboard", "dashboard_by_load"), ("waseat", "waseat_by_load"))
            if key in p
        ),
        f"  relay {p['relay_events_per_second']} events/s, relay + normal_data {p['consumer_events_per_second']}"
        f" events/s ({p['burst_events']} events in one commit)",
        "load generator CPU (cores busy while it ran): "
        + ", ".join(f"{g['load']} {g['variant']} {g['cores_used']}" for g in results.generator),
    ]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else "unknown"


def _markdown(*, meta: dict[str, Any], plan: Plan, rendered: str, results: Results) -> str:
    lines = [
        f"# Benchmark, {meta['date']}",
        "",
        f"- commit `{meta['git_commit']}`; {meta['cores']} cores ({meta['cpu']}); {meta['platform']};"
        f" Python {meta['python']}; PostgreSQL {meta['postgresql']}",
        f"- {meta['mode']} run in {meta['duration_seconds']} s. Web: {meta['server']} with {plan.web_workers}"
        " workers (DEBUG off); outbox relay, one process per consumer, the embedded Kafka-protocol broker,"
        f" PostgreSQL and the load generator all on this machine. WASEAT answers after {plan.waseat_ms:g} ms,"
        f" the push gateway after {plan.push_ms:g} ms.",
        f"- Load: {meta['load_generator']}. Open loop: each driver's app sends {plan.user_rate:g} req/s"
        f" (`constant_throughput`) for {plan.seconds:g} s, the mix of one trip being 12 requests (7 currentTrip polls,"
        " 2 location pings, arrival, scan, DELIVERED: bench/locustfile.py). Saturation: "
        f"{plan.saturation_users} users sending updateOrder back to back.",
        "- `old` = every flag off (side work in the request), `new` = every flag on (side work in consumers);"
        " sequential rows: one client, one keep-alive connection. Latencies in ms, from request sent to answer"
        " read by the client. SQL/req: statements the server ran per request (its on-commit work included).",
        "",
        rendered,
        "",
        "```",
        _pipeline_text(results).strip(),
        "```",
        "",
        "![percentiles by rate](percentiles.png)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
