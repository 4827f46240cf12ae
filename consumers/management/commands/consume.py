"""`manage.py consume <name>`: run one registered consumer until SIGTERM/SIGINT.

`consume_<name>` commands are thin subclasses that fix the name.
"""

import signal
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from consumers.registry import UnknownConsumer, get_consumer
from consumers.runtime import ConsumerHalted, ConsumerRunner
from events.broker import BrokerNotConfigured

HALTED_EXIT_CODE = 3


class Command(BaseCommand):
    help = "Run a Kafka consumer from the registry. SIGTERM/SIGINT finish the batch in hand, commit and exit 0."
    consumer_name: str | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        if self.consumer_name is None:
            parser.add_argument("name", help="Registered consumer name, e.g. waseat.")
        parser.add_argument("--metrics-port", type=int, default=None, help="Serve Prometheus metrics on this port.")
        parser.add_argument(
            "--liveness-file", type=Path, default=None, help="Health file, refreshed while the consumer makes progress."
        )
        parser.add_argument(
            "--instance-id",
            default=None,
            help="Static group membership id of this process (default KAFKA_CONSUMER_INSTANCE_ID; empty = dynamic).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = self.consumer_name or options["name"]
        try:
            definition = get_consumer(name)
        except UnknownConsumer as exc:
            raise CommandError(str(exc)) from exc
        if options["metrics_port"] is not None:
            start_http_server(options["metrics_port"])
        try:
            runner = ConsumerRunner(
                definition, liveness_file=options["liveness_file"], instance_id=options["instance_id"]
            )
        except BrokerNotConfigured as exc:
            raise CommandError(str(exc)) from exc

        def stop(signum: int, frame: FrameType | None) -> None:
            runner.request_stop()

        previous = signal.signal(signal.SIGTERM, stop), signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"consumer {name} running as group {definition.group} (SIGTERM/SIGINT to stop)")
        try:
            runner.run()
        except ConsumerHalted as exc:
            raise CommandError(str(exc), returncode=HALTED_EXIT_CODE) from exc
        except BrokerNotConfigured as exc:
            raise CommandError(str(exc)) from exc
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
        self.stdout.write(f"consumer {name} stopped cleanly")
