"""Create the demo data (idempotent) and print it."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from devtools.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo branches, menu, drivers, customers and staff; print them (--json for machines)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_seed()
        if options["json"]:
            self.stdout.write(json.dumps(demo))
            return
        self.stdout.write(json.dumps(demo, indent=2, ensure_ascii=False))
