"""Drill results for `make reliability`: each drill records one row, `summarize` prints and judges them.

Under `make test` the drills run their short variants and `record` writes nothing. Under
`make reliability` (`RELIABILITY_FULL=1`) they run at full size, and every row is appended to
`RELIABILITY_REPORT`; `python -m tests.reliability.report` then prints the table, writes
`var/reliability/results.json` and exits non-zero when any drill lost or duplicated anything.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path("var/reliability/results.json")
COLUMNS = ("drill", "requests", "failed_requests", "events_lost", "duplicate_effects", "recover_seconds")


@dataclass(frozen=True)
class DrillResult:
    drill: str
    requests: int
    failed_requests: int
    events_lost: int
    duplicate_effects: int
    recover_seconds: float | None = None

    @property
    def clean(self) -> bool:
        return self.failed_requests == 0 and self.events_lost == 0 and self.duplicate_effects == 0


def full() -> bool:
    """True under `make reliability`: drills run at full size."""
    return os.environ.get("RELIABILITY_FULL") == "1"


def scale(short: int, long: int) -> int:
    """The size of a drill: `short` in `make test`, `long` in `make reliability`."""
    return long if full() else short


def record(result: DrillResult) -> None:
    """Append one drill's row to the report file when `make reliability` asked for one."""
    path = os.environ.get("RELIABILITY_REPORT")
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as rows:
        rows.write(json.dumps(asdict(result)) + "\n")


def summarize(rows_path: Path, pytest_exit: int) -> int:
    rows = [DrillResult(**json.loads(line)) for line in rows_path.read_text().splitlines() if line.strip()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"pytest_exit": pytest_exit, "rows": [asdict(row) for row in rows]}, indent=2) + "\n")
    widths = [max(len(c), *(len(_cell(getattr(r, c))) for r in rows)) if rows else len(c) for c in COLUMNS]
    print(" | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(_cell(getattr(row, c)).ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    dirty = [row.drill for row in rows if not row.clean]
    print(f"\n{len(rows)} drills, {len(dirty)} with failures, losses or duplicates; pytest exit {pytest_exit}")
    print(f"written to {RESULTS}")
    return 1 if dirty or pytest_exit != 0 or not rows else 0


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(summarize(Path(sys.argv[1]), int(sys.argv[2])))
