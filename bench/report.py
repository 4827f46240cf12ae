"""Percentiles, rows, the printed table, the plot and the files under var/bench/."""

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
    """One line of the table (contract §1 `rows`); latencies in milliseconds."""

    operation: str
    variant: str  # "old" (every flag off), "new" (every flag on) or "sequential"
    load: str  # "sequential", "open 50/s", ..., "saturation"
    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    per_second: float | None
    errors: int
    sql_per_request: float | None = None
    path: str = ""  # for sequential rows: which path ("new" or "old")
    old_new_p50: float | None = None  # the old row's p50 / this (new) row's p50

    @classmethod
    def of(
        cls,
        *,
        operation: str,
        variant: str,
        load: str,
        ms: Sequence[float],
        errors: int = 0,
        wall_seconds: float | None = None,
        sql: Sequence[int] = (),
        path: str = "",
    ) -> "Row":
        return cls(
            operation=operation,
            variant=variant,
            load=load,
            n=len(ms),
            p50_ms=round(percentile(ms, 50), 3),
            p90_ms=round(percentile(ms, 90), 3),
            p99_ms=round(percentile(ms, 99), 3),
            max_ms=round(max(ms), 3) if ms else math.nan,
            per_second=round(len(ms) / wall_seconds, 1) if wall_seconds else None,
            errors=errors,
            sql_per_request=round(sum(sql) / len(sql), 2) if sql else None,
            path=path,
        )

    def against(self, old: "Row") -> "Row":
        ratio = old.p50_ms / self.p50_ms if self.p50_ms else None
        return Row(**{**asdict(self), "old_new_p50": round(ratio, 2) if ratio else None})


HEADERS = ("operation", "load", "variant", "n", "p50", "p90", "p99", "max", "req/s", "err", "SQL/req", "old/new p50")


def _cells(row: Row) -> list[str]:
    def number(value: float | None, digits: int = 1) -> str:
        return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"

    variant = f"{row.variant} ({row.path})" if row.path else row.variant
    return [
        row.operation,
        row.load,
        variant,
        str(row.n),
        number(row.p50_ms, 2),
        number(row.p90_ms, 2),
        number(row.p99_ms, 2),
        number(row.max_ms, 1),
        number(row.per_second),
        str(row.errors),
        number(row.sql_per_request),
        "" if row.old_new_p50 is None else f"{row.old_new_p50:.1f}x",
    ]


def table(rows: Sequence[Row], headers: Sequence[str] = HEADERS) -> str:
    """A Markdown table, aligned so it also reads well in a terminal (latencies in ms)."""
    lines = [list(headers), *(_cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headers))]
    numeric = set(range(3, len(headers)))

    def render(cells: list[str]) -> str:
        padded = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def rows_as_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Rows for JSON: a value that was not measured (NaN) becomes null."""
    return [
        {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in asdict(row).items()}
        for row in rows
    ]


def write(directory: Path, *, results: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "results.json"
    markdown_path = directory / "report.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown_path.write_text(markdown)
    return json_path, markdown_path


def plot(rows: Sequence[Row], path: Path) -> Path:
    """Percentiles (p50, p90, p99) of each operation by open-loop rate, old and new path side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    open_rows = [row for row in rows if row.load.startswith("open ")]
    operations = sorted({row.operation for row in open_rows})
    figure, axes = plt.subplots(1, len(operations), figsize=(4.5 * len(operations), 4), squeeze=False)
    for axis, operation in zip(axes[0], operations, strict=True):
        for variant, style in (("old", "--"), ("new", "-")):
            series = sorted(
                (row for row in open_rows if row.operation == operation and row.variant == variant),
                key=lambda row: float(row.load.split()[1].rstrip("/s")),
            )
            rates = [float(row.load.split()[1].rstrip("/s")) for row in series]
            for field, marker in (("p50_ms", "o"), ("p90_ms", "s"), ("p99_ms", "^")):
                values = [getattr(row, field) for row in series]
                axis.plot(rates, values, style, marker=marker, label=f"{variant} {field[:3]}")
        axis.set_title(operation)
        axis.set_xlabel("offered load (req/s, whole mix)")
        axis.set_ylabel("latency (ms)")
        axis.set_yscale("log")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
