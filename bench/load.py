"""The driver apps: a few client threads sending GraphQL over keep-alive HTTP connections, each call timed."""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from bench.processes import BenchError
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_ORDER

T = TypeVar("T")

Check = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Call:
    """One GraphQL request of a driver's app; `check` raises BenchError when the answer is wrong."""

    token: str
    query: str
    variables: dict[str, Any]
    check: Check
    tag: str = ""


@dataclass(frozen=True)
class Sample:
    seconds: float
    answered_at: float  # time.perf_counter() when the answer was read
    tag: str


@dataclass
class Block:
    """The calls of one measured block, and the wall time from the first request to the last answer."""

    samples: list[Sample] = field(default_factory=list)
    wall_seconds: float = 0.0


def current_trip_call(*, token: str, albaik_identifier: str) -> Call:
    def check(data: dict[str, Any]) -> None:
        trip = data.get("currentTrip") or {}
        if trip.get("albaikIdentifier") != albaik_identifier:
            raise BenchError(f"currentTrip answered {data!r}, expected trip {albaik_identifier}")

    return Call(token=token, query=CURRENT_TRIP, variables={}, check=check, tag=albaik_identifier)


def update_order_call(*, token: str, albaik_identifier: str, status: str) -> Call:
    def check(data: dict[str, Any]) -> None:
        payload = data.get("updateOrder") or {}
        order = payload.get("order")
        if payload.get("errors") or (order is not None and order["delivery"]["status"] != status):
            raise BenchError(f"updateOrder({albaik_identifier}, {status}) answered {data!r}")

    return Call(
        token=token,
        query=UPDATE_ORDER,
        variables={"albaikIdentifier": albaik_identifier, "status": status},
        check=check,
        tag=albaik_identifier,
    )


def spread(items: Sequence[T], clients: int) -> list[list[T]]:
    """Deal items to the clients round-robin, keeping their order within each client."""
    return [list(items[index::clients]) for index in range(clients)]


class DriverApps:
    """`clients` concurrent apps, each one thread with its own httpx connection pool (kept alive across blocks)."""

    def __init__(self, *, base_url: str, clients: int) -> None:
        self._clients = [
            httpx.Client(base_url=base_url, timeout=60.0, limits=httpx.Limits(max_connections=2))
            for _ in range(clients)
        ]

    @property
    def count(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def run(self, calls_per_client: list[list[Call]]) -> Block:
        """Run each client's calls in order on its thread, all clients at once; every answer is checked."""
        if len(calls_per_client) > len(self._clients):
            raise ValueError("more call lists than clients")
        start = threading.Barrier(len(calls_per_client) + 1)
        results: list[list[Sample]] = [[] for _ in calls_per_client]
        errors: list[BaseException] = []

        def work(index: int) -> None:
            client = self._clients[index]
            start.wait()
            try:
                for call in calls_per_client[index]:
                    results[index].append(self._send(client, call))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(index,), name=f"driver-app-{index}", daemon=True)
            for index in range(len(calls_per_client))
        ]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        if errors:
            raise BenchError(f"a driver app failed: {errors[0]!r}") from errors[0]
        samples = [sample for client_samples in results for sample in client_samples]
        finished = max((sample.answered_at for sample in samples), default=started)
        return Block(samples=samples, wall_seconds=finished - started)

    @staticmethod
    def _send(client: httpx.Client, call: Call) -> Sample:
        body = {"query": call.query, "variables": call.variables}
        headers = {"Authorization": f"Token {call.token}"}
        sent = time.perf_counter()
        response = client.post("/graphql/", json=body, headers=headers)
        answered = time.perf_counter()
        if response.status_code != 200:
            raise BenchError(f"HTTP {response.status_code} from /graphql/: {response.text[:500]}")
        document = response.json()
        if document.get("errors"):
            raise BenchError(f"GraphQL errors: {document['errors']!r}")
        call.check(document["data"])
        return Sample(seconds=answered - sent, answered_at=answered, tag=call.tag)
