"""The driver apps for locust (`bench.loadgen` runs it): each user is one driver working through trips.

`BENCH_MODE=mix` (open loop): every user sends `BENCH_USER_RATE` requests per second whatever the
answers take (locust's `constant_throughput`), walking each trip through the app's day: currentTrip
polls, location pings, arrival, the scan (OUT_FOR_DELIVERY) and DELIVERED. `BENCH_MODE=saturation`
(closed loop): every user sends the scan then DELIVERED of the next trip as soon as the last answer
is in, until the trips run out. Every request's latency, outcome and SQL count are written to
`BENCH_SAMPLES_FILE` when locust quits.
"""

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import gevent
from locust import constant, constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE, UPDATE_DRIVER_STATUS, UPDATE_ORDER

MODE = os.environ.get("BENCH_MODE", "mix")
TRIPS: list[dict[str, str]] = json.loads(open(os.environ["BENCH_TRIPS_FILE"]).read())  # noqa: SIM115
SAMPLES: list[list[Any]] = []
# One trip in the app: 12 requests, the driver's moves among polls and pings.
STEPS = (
    "currentTrip", "updateDriverProfile", "currentTrip", "arrival", "currentTrip", "currentTrip",
    "OUT_FOR_DELIVERY", "currentTrip", "updateDriverProfile", "currentTrip", "DELIVERED", "currentTrip",
)  # fmt: skip
OPERATION = {"arrival": "updateDriverStatus", "OUT_FOR_DELIVERY": "updateOrder", "DELIVERED": "updateOrder"}


@events.request.add_listener
def record(name: str, response_time: float, exception: Any, response: Any, start_time: float = 0.0, **_: Any) -> None:
    sql = response.headers.get("X-SQL-Queries") if response is not None and response.headers else None
    SAMPLES.append([name, round(start_time, 6), round(response_time, 3), exception is not None, sql])


@events.quitting.add_listener
def write_samples(**_: Any) -> None:
    with open(os.environ["BENCH_SAMPLES_FILE"], "w") as out:
        json.dump(SAMPLES, out)


class DriverApp(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("BENCH_USER_RATE", "1"))) if MODE == "mix" else constant(0)

    def on_start(self) -> None:
        self.steps: Iterator[str] = iter(())
        self.trip: dict[str, str] | None = None

    def graphql(self, name: str, query: str, **variables: Any) -> None:
        assert self.trip is not None
        headers = {"Authorization": f"Token {self.trip['token']}"}
        body = {"query": query, "variables": variables}
        with self.client.post("/graphql/", json=body, headers=headers, name=name, catch_response=True) as response:
            document = response.json() if response.status_code == 200 else {}
            payload = next(iter((document.get("data") or {}).values()), None)
            if response.status_code != 200 or document.get("errors"):
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            elif isinstance(payload, dict) and payload.get("errors"):
                response.failure(f"{name}: {payload['errors']}")

    def next_trip(self) -> bool:
        if not TRIPS:
            return False
        self.trip = TRIPS.pop()
        self.steps = iter(STEPS)
        return True

    @task
    def act(self) -> None:
        if MODE == "saturation":
            if not self.next_trip():
                # The trips are used up: end the run (from another greenlet, as quit() stops this one).
                gevent.spawn(self.environment.runner.quit)
                raise StopUser()
            for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
                self.update_order(status)
            return
        step = next(self.steps, None)
        if step is None:
            if self.next_trip():
                step = next(self.steps)
            elif self.trip is not None:
                step = "currentTrip"  # no trips left: the app keeps polling
            else:
                time.sleep(0.01)
                return
        if step == "currentTrip":
            self.graphql("currentTrip", CURRENT_TRIP)
        elif step == "updateDriverProfile":
            self.graphql("updateDriverProfile", UPDATE_DRIVER_PROFILE, latitude=21.55, longitude=39.18)
        elif step == "arrival":
            self.graphql(OPERATION[step], UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
        else:
            self.update_order(step)

    def update_order(self, status: str) -> None:
        assert self.trip is not None
        self.graphql("updateOrder", UPDATE_ORDER, albaikIdentifier=self.trip["albaik_identifier"], status=status)
