"""`manage.py consumer_lag [name ...] [--json]`: per group and partition, committed and end offsets and lag."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumers.registry import UnknownConsumer, all_consumers, get_consumer
from consumers.runtime.lag import consumer_lag_report
from events.broker import BrokerNotConfigured


class Command(BaseCommand):
    help = "Lag of every registered consumer group (or the named ones), in messages and in seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", help="Consumers to report (default: all registered).")
        parser.add_argument("--json", action="store_true", help='Print {"groups": [...]} as JSON.')

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            definitions = [get_consumer(name) for name in options["names"]] or all_consumers()
            report = consumer_lag_report(definitions=definitions)
        except (UnknownConsumer, BrokerNotConfigured) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"groups": [group.as_dict() for group in report]}))
            return
        self.stdout.write(
            f"{'group':<32} {'topic':<40} {'part':>4} {'committed':>10} {'end':>10} {'lag':>8} {'lag s':>9}"
        )
        for group in report:
            for p in group.partitions:
                committed = "-" if p.committed is None else str(p.committed)
                self.stdout.write(
                    f"{group.group:<32} {p.topic:<40} {p.partition:>4} {committed:>10} {p.end:>10} "
                    f"{p.lag:>8} {p.lag_seconds:>9.1f}"
                )
            for topic in group.missing_topics:
                self.stdout.write(f"{group.group:<32} {topic:<40} (topic does not exist yet)")
            self.stdout.write(
                f"{group.group:<32} {'total':<40} {'':>4} {'':>10} {'':>10} {group.lag:>8} {group.lag_seconds:>9.1f}"
            )
