"""`manage.py outbox_parked list|retry|drop`: the events the broker refused, set aside by the relay."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models.functions import Length

from events.models import OutboxEvent
from events.selectors import outbox_parked
from events.services import outbox_drop, outbox_unpark


class Command(BaseCommand):
    help = (
        "List parked outbox events, give them back to the relay (retry) or delete them (drop). "
        "retry and drop need event ids or --all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "retry", "drop"])
        parser.add_argument("ids", nargs="*", type=int, help="Outbox ids (as listed).")
        parser.add_argument("--all", action="store_true", help="Every parked event.")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        action, ids = options["action"], options["ids"]
        if action != "list" and not ids and not options["all"]:
            raise CommandError("missing_ids: name the parked events to retry or drop, or pass --all")
        parked = list(outbox_parked(ids=ids).values("id", "event_id", "type", "key", "attempts", "last_error"))
        rows = [
            {**row, "event_id": str(row["event_id"]), "size": size}
            for row, size in zip(parked, self._sizes([row["id"] for row in parked]), strict=True)
        ]
        chosen = [row["id"] for row in parked]
        done = 0
        if action == "retry":
            done = outbox_unpark(ids=chosen)
        elif action == "drop":
            done = outbox_drop(ids=chosen)
        if options["json"]:
            self.stdout.write(json.dumps({"action": action, "count": len(rows), "changed": done, "events": rows}))
            return
        for row in rows:
            self.stdout.write(
                f"{row['id']}  {row['type']}  {row['key']}  {row['size']} bytes  "
                f"attempts={row['attempts']}  {row['last_error']}"
            )
        verb = {"list": "parked", "retry": "given back to the relay", "drop": "dropped"}[action]
        self.stdout.write(f"{len(rows) if action == 'list' else done} event(s) {verb}")

    @staticmethod
    def _sizes(ids: list[int]) -> list[int]:
        sizes = dict(OutboxEvent.objects.filter(id__in=ids).annotate(size=Length("envelope")).values_list("id", "size"))
        return [sizes[row_id] for row_id in ids]
