"""`manage.py replay_dead_letters <consumer> [--limit N] [--dry-run] [--json]`."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumers.registry import UnknownConsumer, get_consumer
from consumers.runtime.dead_letters import dead_letters_replay
from events.broker import BrokerNotConfigured


class Command(BaseCommand):
    help = "Put a consumer's dead letters back on their original topic (each once), oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("consumer", help="Registered consumer name, e.g. waseat.")
        parser.add_argument("--limit", type=int, default=None, help="Replay at most N dead letters.")
        parser.add_argument("--dry-run", action="store_true", help="List what would be replayed; change nothing.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be a positive number")
        try:
            definition = get_consumer(options["consumer"])
            letters = dead_letters_replay(definition=definition, limit=options["limit"], dry_run=options["dry_run"])
        except (UnknownConsumer, BrokerNotConfigured) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            payload = {
                "consumer": definition.name,
                "topic": definition.dlq_topic,
                "dry_run": options["dry_run"],
                "count": len(letters),
                "dead_letters": [letter.as_dict() for letter in letters],
            }
            self.stdout.write(json.dumps(payload))
            return
        verb = "would replay" if options["dry_run"] else "replayed"
        for letter in letters:
            self.stdout.write(
                f"{verb} {definition.dlq_topic}[{letter.partition}]@{letter.offset} "
                f"{letter.event_type} {letter.event_id} attempts={letter.attempts} error={letter.error}"
            )
        self.stdout.write(f"{verb} {len(letters)} dead letter(s) of {definition.name}")
