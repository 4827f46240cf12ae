"""Percentiles, the printed table, and the files under var/bench/."""

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Row:
    """One line of the table; latencies in milliseconds."""

    operation: str
    variant: str
    n: int
    p50: float
    p90: float
    p99: float
    per_second: float | None = None
    speedup_p50: float | None = None  # baseline p50 / this p50 (the baseline row is 1.0)
    throughput_ratio: float | None = None  # this req/s / baseline req/s

    @classmethod
    def of(
        cls,
        operation: str,
        variant: str,
        seconds: Sequence[float],
        *,
        wall_seconds: float | None = None,
        baseline: "Row | None" = None,
    ) -> "Row":
        milliseconds = [value * 1000.0 for value in seconds]
        p50 = percentile(milliseconds, 50)
        per_second = len(seconds) / wall_seconds if wall_seconds else None
        speedup = throughput = None
        if baseline is not None:
            speedup = baseline.p50 / p50 if p50 else None
            if per_second is not None and baseline.per_second:
                throughput = per_second / baseline.per_second
        elif wall_seconds is not None:
            speedup = throughput = 1.0
        return cls(
            operation=operation,
            variant=variant,
            n=len(seconds),
            p50=p50,
            p90=percentile(milliseconds, 90),
            p99=percentile(milliseconds, 99),
            per_second=per_second,
            speedup_p50=speedup,
            throughput_ratio=throughput,
        )

    @classmethod
    def rate(cls, operation: str, variant: str, *, count: int, seconds: float) -> "Row":
        """A throughput-only row (no latencies)."""
        nan = math.nan
        per_second = count / seconds if seconds > 0 else None
        return cls(operation=operation, variant=variant, n=count, p50=nan, p90=nan, p99=nan, per_second=per_second)


HEADERS = ("operation", "variant", "n", "p50 ms", "p90 ms", "p99 ms", "req/s", "p50 speed-up", "req/s ratio")


def _cells(row: Row) -> list[str]:
    def number(value: float | None, digits: int) -> str:
        return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"

    def times(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}x"

    return [
        row.operation,
        row.variant,
        str(row.n),
        number(row.p50, 1),
        number(row.p90, 1),
        number(row.p99, 1),
        number(row.per_second, 1),
        times(row.speedup_p50),
        times(row.throughput_ratio),
    ]


def table(rows: Sequence[Row]) -> str:
    """A Markdown table, aligned so it also reads well in a terminal."""
    lines = [list(HEADERS), *(_cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADERS))]
    numeric = set(range(2, len(HEADERS)))

    def render(cells: list[str]) -> str:
        padded = [
            cell.rjust(widths[index]) if index in numeric else cell.ljust(widths[index])
            for index, cell in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (width + 1) + ":" if index in numeric else "-" * (width + 2) for index, width in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def write(directory: Path, *, results: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "results.json"
    markdown_path = directory / "report.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown_path.write_text(markdown)
    return json_path, markdown_path


def rows_as_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Rows for JSON: a latency that was not measured (NaN) becomes null."""
    return [
        {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in asdict(row).items()}
        for row in rows
    ]
