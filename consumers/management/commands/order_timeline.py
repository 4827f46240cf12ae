"""`manage.py order_timeline <albaik_identifier> [--json]` (contract §1)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumers.selectors import order_timeline_get
from delivery.errors import NotFound


class Command(BaseCommand):
    help = "Everything that happened to an order, oldest first: status changes, events, consumers, effects."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("albaik_identifier")
        parser.add_argument("--json", action="store_true", help='Print {"order": {...}, "entries": [...]}.')

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            timeline = order_timeline_get(albaik_identifier=options["albaik_identifier"])
        except NotFound as exc:
            if options["json"]:
                self.stderr.write(
                    json.dumps({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}})
                )
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(timeline))
            return
        order = timeline["order"]
        self.stdout.write(
            f"order {order['albaik_identifier']} (id {order['id']}, {order['status']}, {order['source']})"
        )
        for entry in timeline["entries"]:
            details = " ".join(
                f"{name}={value}"
                for name, value in entry.items()
                if name not in ("at", "kind") and value not in (None, {})
            )
            self.stdout.write(f"{entry['at']}  {entry['kind']:<14} {details}")
