"""`manage.py dead_letter_limit <consumer> [--reset] [--partition N] [--json]`."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumers.registry import UnknownConsumer, get_consumer
from consumers.runtime.dead_letter_limit import dead_letter_counts, dead_letter_limit_reset


class Command(BaseCommand):
    help = (
        "Dead letters counted towards a consumer's per-partition limit; --reset stops counting them "
        "(after the cause is fixed, so a consumer the limit stopped can start again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("consumer", help="Registered consumer name, e.g. waseat.")
        parser.add_argument("--reset", action="store_true", help="Stop counting the dead letters so far.")
        parser.add_argument("--partition", type=int, default=None, help="Only this partition.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            name = get_consumer(options["consumer"]).name
        except UnknownConsumer as exc:
            raise CommandError(str(exc)) from exc
        cleared = dead_letter_limit_reset(consumer=name, partition=options["partition"]) if options["reset"] else 0
        counts = dead_letter_counts(consumer=name)
        if options["json"]:
            self.stdout.write(json.dumps({"consumer": name, "cleared": cleared, "partitions": counts}))
            return
        for row in counts:
            self.stdout.write(
                f"{row['topic']}[{row['partition']}] {row['dead_letters']} dead letter(s) counted, "
                f"last at offset {row['last_offset']}"
            )
        if options["reset"]:
            self.stdout.write(f"cleared {cleared} dead letter(s) of {name}")
