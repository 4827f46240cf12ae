"""`python -m bench.profile [operation]`: where one driver request spends its time, in process.

Production settings (DEBUG off), the WSGI handler called directly (no server, no network):
pyinstrument's call tree of `BENCH_REQUESTS` sequential requests of `currentTrip` (default),
`updateDriverProfile` or `healthz`, on the benchmark's database as `bench.serving` leaves it.
`updateOrder` recreates that database with `BENCH_REQUESTS / 3` fresh trips (every flag on, no
consumers running) and walks each as the driver app does: arrival, the scan (OUT_FOR_DELIVERY),
DELIVERED; one driver keeps a trip, so the read profiles still run afterwards.
`BENCH_PROFILE=0` times the same calls without the profiler (its overhead grows with the number of
Python calls, so it distorts small differences): median, p10 and mean per request.
"""

import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import django

from bench.database import DEFAULT_DATABASE_URL
from bench.run import OUT_DIR, UNSET, environment, environment_apply
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE, UPDATE_DRIVER_STATUS, UPDATE_ORDER

DOCUMENTS = {
    "currentTrip": (CURRENT_TRIP, {}),
    "updateDriverProfile": (UPDATE_DRIVER_PROFILE, {"latitude": 21.5, "longitude": 39.1}),
}
# One trip of the write path: (document, variables without the order's identifier).
TRIP_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    (UPDATE_DRIVER_STATUS, {"status": "WAITING_AT_RESTAURANT"}),
    (UPDATE_ORDER, {"status": "OUT_FOR_DELIVERY"}),
    (UPDATE_ORDER, {"status": "DELIVERED"}),
)
WARMUP_TRIPS = 5


def graphql_post(client: Any, query: str, variables: dict[str, Any], **headers: str) -> None:
    body = {"query": query, "variables": variables}
    response = client.post("/graphql/", body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    document = response.json()
    payload = next(iter(document["data"].values()), None) if document.get("data") else None
    assert not document.get("errors"), document
    assert not (isinstance(payload, dict) and payload.get("errors")), document


def read_calls(operation: str, requests: int) -> tuple[list[Callable[[], None]], list[Callable[[], None]]]:
    """Warm-up and profiled calls of a read (or the ping), all by the first driver with a trip."""
    from django.test import Client

    from delivery.models import Driver
    from delivery.services.accounts import token_issue

    driver = Driver.objects.filter(current_delivery__isnull=False).select_related("user").first()
    if driver is None:
        raise SystemExit("no driver with a trip: run `python -m bench.serving` first")
    client = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=driver.user)}", HTTP_HOST="127.0.0.1")

    def once() -> None:
        if operation == "healthz":
            response = client.get("/healthz")
            assert response.status_code == 200, response.content
        else:
            graphql_post(client, *DOCUMENTS[operation])

    return [once] * 50, [once] * requests


def write_calls(requests: int) -> tuple[list[Callable[[], None]], list[Callable[[], None]]]:
    """Warm-up and profiled calls of the write path: each trip's arrival, scan and DELIVERED."""
    from django.core.management import call_command
    from django.test import Client

    from bench.world import flags_give, world_create

    call_command("migrate", interactive=False, verbosity=0)
    trips = world_create(trips=1 + WARMUP_TRIPS + max(1, requests // len(TRIP_STEPS)), arrived=False)
    flags_give(snapshot_to=trips, kafka_to=trips)
    client = Client(HTTP_HOST="127.0.0.1")  # one client: its handler loads the middleware once
    calls: list[Callable[[], None]] = []
    for trip in trips[1:]:  # the first driver keeps a trip for the read profiles
        header = f"Token {trip.token}"
        for query, variables in TRIP_STEPS:
            if query == UPDATE_ORDER:
                variables = {**variables, "albaikIdentifier": trip.albaik_identifier}
            calls.append(functools.partial(graphql_post, client, query, variables, HTTP_AUTHORIZATION=header))
    warmup = WARMUP_TRIPS * len(TRIP_STEPS)
    return calls[:warmup], calls[warmup:]


def timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> int:
    operation = sys.argv[1] if len(sys.argv) > 1 else "currentTrip"
    if operation not in {*DOCUMENTS, "healthz", "updateOrder"}:
        print(f"unknown operation {operation!r}", file=sys.stderr)
        return 2
    requests = int(os.environ.get("BENCH_REQUESTS", "500"))
    if operation == "updateOrder":
        environment_apply(var_dir=OUT_DIR / "run", drop=("SQL_COUNT_HEADER",))
    else:
        env = environment(
            database_url=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL, var_dir=OUT_DIR / "run"
        )
        env.pop("SQL_COUNT_HEADER", None)
        for name in UNSET:
            os.environ.pop(name, None)
        os.environ.update(env)
    django.setup()
    from pyinstrument import Profiler

    warmup, calls = write_calls(requests) if operation == "updateOrder" else read_calls(operation, requests)
    for call in warmup:
        call()
    if os.environ.get("BENCH_PROFILE") == "0":
        durations = sorted(timed(call) for call in calls)
        print(
            f"{operation}: {len(calls)} requests, unprofiled: median {1000 * statistics.median(durations):.3f} ms,"
            f" p10 {1000 * durations[len(durations) // 10]:.3f} ms, mean {1000 * statistics.fmean(durations):.3f} ms"
        )
        return 0
    started = time.perf_counter()
    with Profiler(interval=0.0002) as profiler:
        for call in calls:
            call()
    elapsed = time.perf_counter() - started
    print(f"{operation}: {len(calls)} requests, {1000 * elapsed / len(calls):.2f} ms each (profiled)")
    print(profiler.output_text(unicode=False, color=False, show_all=os.environ.get("BENCH_PROFILE_ALL") == "1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
