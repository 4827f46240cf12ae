"""`manage.py consumer_health <name> [--max-age S]`: exit 0 while the consumer makes progress.

The liveness probe of a consumer process: its health file is refreshed only while it finishes
messages or has nothing to do (`consumers.runtime.health`).
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumers.runtime.health import health_file_age


class Command(BaseCommand):
    help = "Exit 0 when the consumer's health file was refreshed within --max-age seconds, else 1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Registered consumer name, e.g. waseat.")
        parser.add_argument("--max-age", type=float, default=30.0, help="Seconds (default 30).")
        parser.add_argument("--liveness-file", type=Path, default=None, help="The health file, if not the default.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["liveness_file"] or Path(settings.CONSUMER_LIVENESS_DIR) / f"{options['name']}.alive"
        age = health_file_age(path)
        if age is None:
            raise CommandError(f"unhealthy: {path} does not exist (not running, or never made progress)")
        if age > options["max_age"]:
            raise CommandError(f"unhealthy: no progress for {age:.0f} s ({path})")
        self.stdout.write(f"healthy: progress {age:.1f} s ago")
