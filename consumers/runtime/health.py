"""Consumer health that means progress, not just a running loop.

The run loop refreshes the health file (`var/consumers/<name>.alive`, at most once a second)
only while the consumer is making progress: it finished a message in the last
`CONSUMER_HEALTH_STALL_SECONDS`, or it has nothing waiting. A loop blocked anywhere (a dead-letter
write that is never acknowledged, a hung call) stops refreshing it, and so does a consumer that
holds messages without finishing any. The file holds a JSON summary for operators; its age is
the probe (`manage.py consumer_health <name>`, or `find -mmin` in docker-compose).
"""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumers.runtime.metrics import LAST_PROGRESS

TOUCH_INTERVAL_SECONDS = 1.0


@dataclass
class ProgressHealth:
    consumer: str
    path: Path
    stall_seconds: float
    progress_at: float = field(default_factory=time.time)
    pending: int = 0
    retrying: int = 0
    _touched_at: float = 0.0
    _gauge: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._gauge = LAST_PROGRESS.labels(self.consumer)  # looked up once: `beat` runs on every poll

    def progressed(self) -> None:
        self.progress_at = time.time()

    def healthy(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.pending == 0 or now - self.progress_at < self.stall_seconds

    def beat(self) -> None:
        """Called from the run loop: refresh the file when healthy (throttled)."""
        now = time.time()
        if self.pending == 0:
            self.progress_at = now  # nothing to do counts as keeping up
        self._gauge.set(self.progress_at)
        if now - self._touched_at < TOUCH_INTERVAL_SECONDS or not self.healthy(now):
            return
        self._touched_at = now
        summary = {
            "consumer": self.consumer,
            "pid": os.getpid(),
            "progress_at": round(self.progress_at, 3),
            "pending": self.pending,
            "retrying_partitions": self.retrying,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        partial.write_text(json.dumps(summary))
        partial.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def health_file_age(path: Path) -> float | None:
    """Seconds since the health file was refreshed; None when there is none."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
