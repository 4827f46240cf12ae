"""`manage.py relay_outbox`: publish the outbox to Kafka until SIGTERM/SIGINT."""

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from prometheus_client import start_http_server

from events.relay import OutboxRelay


class Command(BaseCommand):
    help = "Publish outbox events to Kafka in order (one leader at a time). SIGTERM/SIGINT stop it cleanly."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Publish what is unpublished now, then exit.")
        parser.add_argument("--metrics-port", type=int, default=None, help="Serve Prometheus metrics on this port.")

    def handle(self, *args: Any, **options: Any) -> None:
        relay = OutboxRelay()
        if options["once"]:
            published = relay.publish_pending()
            self.stdout.write(f"published {published} event(s)")
            return
        if options["metrics_port"] is not None:
            start_http_server(options["metrics_port"])

        def stop(signum: int, frame: FrameType | None) -> None:
            relay.request_stop()

        previous = signal.signal(signal.SIGTERM, stop), signal.signal(signal.SIGINT, stop)
        self.stdout.write("outbox relay running (SIGTERM/SIGINT to stop)")
        try:
            relay.run()
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
        self.stdout.write("outbox relay stopped")
