"""Background services that `manage.py devserver` runs beside the web server.

Each service is started in order and stopped in reverse order. Settings list them in
`DEVSERVER_SERVICES` (dotted paths to zero-argument factories), so the broker, the
outbox relay, the consumers and the periodic tasks plug in without editing the command.
"""

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from config.celery import app

logger = logging.getLogger(__name__)


class BackgroundService(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class PeriodicTask:
    """Calls `func` every `interval` seconds on a daemon thread until stopped."""

    def __init__(self, name: str, func: Callable[[], object], interval: float) -> None:
        self.name = name
        self.func = func
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"periodic-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.func()
            except Exception:  # a failing run is logged and the schedule goes on
                logger.exception("periodic task %s failed", self.name)
            finally:
                close_old_connections()


def celery_beat_services() -> list[BackgroundService]:
    """Run the Celery beat schedule in-process (Celery is eager under devserver)."""
    # Workers import task modules themselves; here they must be imported before lookup.
    app.loader.import_default_modules()
    services: list[BackgroundService] = []
    for name, entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).items():
        task_name = entry["task"]
        interval = float(entry["schedule"])
        services.append(PeriodicTask(name, functools.partial(_run_task, app, task_name), interval))
    return services


def _run_task(app: Any, task_name: str) -> None:
    app.tasks[task_name].delay()


def load_services() -> list[BackgroundService]:
    services: list[BackgroundService] = []
    for path in getattr(settings, "DEVSERVER_SERVICES", []):
        factory = import_string(path)
        produced = factory()
        services.extend(produced if isinstance(produced, list) else [produced])
    return services
