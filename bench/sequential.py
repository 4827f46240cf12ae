"""Sequential rows: one client, one keep-alive connection, one request at a time (the server's floor)."""

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bench.processes import BenchError
from bench.world import Trip
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE, UPDATE_ORDER


def graphql(client: httpx.Client, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """POST one document; BenchError unless the answer is 200 without errors."""
    response = client.post(
        "/graphql/", json={"query": query, "variables": variables}, headers={"Authorization": f"Token {token}"}
    )
    document = response.json() if response.status_code == 200 else {}
    if response.status_code != 200 or document.get("errors"):
        raise BenchError(f"HTTP {response.status_code} from /graphql/: {response.text[:300]}")
    data: dict[str, Any] = document["data"]
    return data


def _timed(call: Callable[[], object], times: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def sequential_rows(
    *, base_url: str, reader: Trip, writers: Sequence[Trip], requests: int, warmup: int = 20
) -> dict[str, list[float]]:
    """Seconds per request of `healthz`, `currentTrip` and a location ping (`requests` each, `reader`'s token),
    and of `updateOrder` (the scan then DELIVERED of each of `writers`' trips)."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:

        def healthz() -> None:
            if client.get("/healthz").status_code != 200:
                raise BenchError("/healthz did not answer 200")

        def current_trip() -> None:
            trip = graphql(client, reader.token, CURRENT_TRIP)["currentTrip"]
            if not trip or trip["albaikIdentifier"] != reader.albaik_identifier:
                raise BenchError(f"currentTrip answered {trip!r}")

        def ping() -> None:
            graphql(client, reader.token, UPDATE_DRIVER_PROFILE, latitude=21.55, longitude=39.18)

        rows = {
            "healthz": _timed(healthz, requests, warmup),
            "currentTrip": _timed(current_trip, requests, warmup),
            "updateDriverProfile": _timed(ping, requests, warmup),
        }
        updates: list[float] = []
        for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
            for trip in writers:
                started = time.perf_counter()
                payload = graphql(
                    client, trip.token, UPDATE_ORDER, albaikIdentifier=trip.albaik_identifier, status=status
                )["updateOrder"]
                updates.append(time.perf_counter() - started)
                if payload["errors"]:
                    raise BenchError(f"updateOrder answered {payload!r}")
        rows["updateOrder"] = updates
    return rows
