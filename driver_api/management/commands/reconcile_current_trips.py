"""Compare every CurrentTrip row with normal data; report drift, repair it with --fix."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from driver_api.selectors import current_trip_drift
from driver_api.services import current_trip_rebuild


class Command(BaseCommand):
    help = "Report CurrentTrip rows that differ from normal data; --fix rewrites them from normal data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="Rewrite drifted rows from normal data.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        drifts = list(current_trip_drift())
        if options["fix"]:
            for drift in drifts:
                with transaction.atomic():
                    current_trip_rebuild(driver_id=drift.driver_id)
        if options["json"]:
            report = {
                "drifted": [{"driver_id": d.driver_id, "fields": d.fields} for d in drifts],
                "fixed": options["fix"],
            }
            self.stdout.write(json.dumps(report))
            return
        for drift in drifts:
            self.stdout.write(f"driver {drift.driver_id}: {', '.join(drift.fields)} differ")
        verb = "fixed" if options["fix"] else "found"
        self.stdout.write(f"{len(drifts)} drifted trip(s) {verb}.")
