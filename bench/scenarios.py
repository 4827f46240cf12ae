"""What is measured: each scenario runs both variants in alternating blocks and returns their samples.

Import after `django.setup()`.
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.load import Block, Call, DriverApps, current_trip_call, spread, update_order_call
from bench.outbox import pipeline_settle
from bench.processes import wait_until
from bench.stub import PUSH, WASEAT_CLOSE, ExternalServices
from bench.world import Trip, handled_synchronously
from side_effects.deliveries import TRANSITION_WORK, Work

VARIANTS = ("off", "on")
SCAN, DELIVERED = "OUT_FOR_DELIVERY", "DELIVERED"
# What the request itself does on DELIVERED, by variant (the event's `handled_synchronously`).
DONE_IN_REQUEST = {
    "off": {work.value for work in TRANSITION_WORK["delivery.delivered"]},
    "on": {Work.CURRENT_TRIP.value},  # the driver API always writes its own store
}
# The external effects of a trip: (stub kind, push status or "", the driver move that caused it).
EFFECTS = {
    "push_scan": (PUSH, "out_for_delivery", SCAN),
    "waseat": (WASEAT_CLOSE, "", DELIVERED),
    "push_delivered": (PUSH, "delivered", DELIVERED),
}


def alternating(round_index: int) -> tuple[str, ...]:
    """ABAB...: the variants swap places every round, so drift on a shared machine falls on both."""
    return VARIANTS if round_index % 2 == 0 else VARIANTS[::-1]


@dataclass
class Measured:
    """The blocks of one variant of one operation."""

    seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0

    def add(self, block: Block) -> None:
        self.seconds.extend(sample.seconds for sample in block.samples)
        self.wall_seconds += block.wall_seconds


def measure_current_trip(
    apps: DriverApps, groups: dict[str, list[Trip]], *, rounds: int, requests: int, warmup: int
) -> dict[str, Measured]:
    """`currentTrip` by drivers without (off) and with (on) `driver_current_trip_snapshot`."""

    def calls(group: Sequence[Trip], count: int) -> list[list[Call]]:
        per_client = max(count // apps.count, 1)
        return [
            [
                current_trip_call(token=trip.token, albaik_identifier=trip.albaik_identifier)
                for trip in (group[(client + k * apps.count) % len(group)] for k in range(per_client))
            ]
            for client in range(apps.count)
        ]

    for variant in VARIANTS:
        apps.run(calls(groups[variant], warmup))
    measured = {variant: Measured() for variant in VARIANTS}
    for round_index in range(rounds):
        for variant in alternating(round_index):
            measured[variant].add(apps.run(calls(groups[variant], requests)))
    return measured


@dataclass
class UpdateOrderResult:
    scans: dict[str, Measured]
    delivers: dict[str, Measured]
    trips: dict[str, list[Trip]]  # the measured trips of each variant
    answered: dict[str, dict[str, float]]  # driver move -> albaik_identifier -> when the answer was read


def measure_update_order(
    apps: DriverApps, groups: dict[str, list[Trip]], *, rounds: int, trips: int, warmup: int, settle_timeout: float
) -> UpdateOrderResult:
    """Each block: every trip scanned (OUT_FOR_DELIVERY), then every trip DELIVERED; then the pipeline settles."""
    result = UpdateOrderResult(
        scans={variant: Measured() for variant in VARIANTS},
        delivers={variant: Measured() for variant in VARIANTS},
        trips={variant: [] for variant in VARIANTS},
        answered={SCAN: {}, DELIVERED: {}},
    )

    def journey(batch: list[Trip]) -> tuple[Block, Block]:
        blocks = []
        for status in (SCAN, DELIVERED):
            calls = [
                update_order_call(token=trip.token, albaik_identifier=trip.albaik_identifier, status=status)
                for trip in batch
            ]
            block = apps.run(spread(calls, apps.count))
            result.answered[status].update({sample.tag: sample.answered_at for sample in block.samples})
            blocks.append(block)
        # Quiet again before the next block: the consumers' work of this one must not fall on the next.
        pipeline_settle(timeout=settle_timeout)
        return blocks[0], blocks[1]

    for variant in VARIANTS:
        journey(groups[variant][:warmup])
    for round_index in range(rounds):
        for variant in alternating(round_index):
            start = warmup + round_index * trips
            batch = groups[variant][start : start + trips]
            scan, deliver = journey(batch)
            result.scans[variant].add(scan)
            result.delivers[variant].add(deliver)
            result.trips[variant].extend(batch)
    return result


def effects_examine(result: UpdateOrderResult, external: ExternalServices) -> tuple[dict[str, list[float]], list[str]]:
    """Consumer lag of the flags-on trips, and what failed of the checks.

    Checks: every measured trip got each external effect exactly once; the flags-off request did
    it before answering; the event says which path did the work, as the variant's flags chose.
    """
    lags: dict[str, list[float]] = {name: [] for name in EFFECTS}
    failed: list[str] = []
    for variant, trips in result.trips.items():
        for trip in trips:
            albaik = trip.albaik_identifier
            for name, (kind, status, move) in EFFECTS.items():
                arrivals = external.arrivals(kind, albaik, status)
                if len(arrivals) != 1:
                    failed.append(f"{variant} {albaik}: {name} arrived {len(arrivals)} times, expected once")
                    continue
                after_answer = arrivals[0] - result.answered[move][albaik]
                if variant == "on":
                    lags[name].append(after_answer)
                elif after_answer > 0:
                    failed.append(f"off {albaik}: {name} arrived after the answer, so not in the request")
            done = set(handled_synchronously(albaik_identifier=albaik, event_type="delivery.delivered"))
            if done != DONE_IN_REQUEST[variant]:
                failed.append(
                    f"{variant} {albaik}: handled_synchronously={sorted(done)}, "
                    f"expected {sorted(DONE_IN_REQUEST[variant])}"
                )
    return lags, failed


def measure_lag_alone(
    apps: DriverApps, trips: list[Trip], external: ExternalServices, *, timeout: float
) -> dict[str, list[float]]:
    """Consumer lag with nothing else in flight: one flags-on trip at a time, each effect awaited."""
    lags: dict[str, list[float]] = {name: [] for name in EFFECTS}
    for trip in trips:
        albaik = trip.albaik_identifier
        for move in (SCAN, DELIVERED):
            call = update_order_call(token=trip.token, albaik_identifier=albaik, status=move)
            answered_at = apps.run([[call]]).samples[0].answered_at
            for name, (kind, status, effect_move) in EFFECTS.items():
                if effect_move != move:
                    continue
                arrivals = wait_until(
                    functools.partial(external.arrivals, kind, albaik, status),
                    timeout=timeout,
                    interval=0.002,
                    what=f"{name} of {albaik}",
                )
                lags[name].append(arrivals[0] - answered_at)
    return lags
