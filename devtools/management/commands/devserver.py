"""Run the whole stack in one process: ASGI web + websockets and every background service."""

import contextlib
import json
import signal
from types import FrameType
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.background import BackgroundService, load_services
from devtools.demo import demo_seed


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Serve HTTP and websockets on 127.0.0.1:$PORT with the broker, relay, consumers and periodic tasks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-seed-info", action="store_true", help="Do not print demo credentials.")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        services = load_services()
        started: list[BackgroundService] = []
        try:
            for service in services:
                service.start()
                started.append(service)
                self.stdout.write(f"started {service.name}")
            if not options["no_seed_info"]:
                self._print_welcome(host, port)
            config = uvicorn.Config("config.asgi:application", host=host, port=port, lifespan="off", log_level="info")
            # uvicorn handles SIGINT/SIGTERM (stops accepting, finishes requests), then re-raises the
            # signal; SIGTERM is turned into KeyboardInterrupt so the services below still stop cleanly.
            signal.signal(signal.SIGTERM, _interrupt)
            with contextlib.suppress(KeyboardInterrupt):
                uvicorn.Server(config).run()
        finally:
            for service in reversed(started):
                service.stop(timeout=10.0)
                self.stdout.write(f"stopped {service.name}")
        self.stdout.write("devserver stopped cleanly")

    def _print_welcome(self, host: str, port: int) -> None:
        demo = demo_seed()
        base = f"http://{host}:{port}"
        branch = demo["branches"][0]
        lines = [
            "",
            f"  API            {base}/api/",
            f"  GraphQL        {base}/graphql/",
            f"  Dashboard      {base}/restaurant/branches/{branch['id']}/  (login {base}/restaurant/login/)",
            f"  Admin          {base}/admin/  (make a user with: manage.py createsuperuser)",
            f"  Health         {base}/healthz  {base}/readyz  {base}/metrics",
            "",
            "  Demo credentials (manage.py seed_demo --json prints all of them):",
        ]
        for staff in demo["staff"]:
            lines.append(f"    staff     {staff['username']} / {staff['password']}  (branch {staff['branch_id']})")
        for driver in demo["drivers"]:
            lines.append(f"    driver    {driver['phone']} / {driver['password']}  token {driver['token']}")
        for customer in demo["customers"]:
            lines.append(f"    customer  {customer['phone']} / {customer['password']}  token {customer['token']}")
        lines.append(f"    rappi webhook secret: {json.dumps(demo['aggregators']['rappi']['webhook_secret'])}")
        lines.append("")
        self.stdout.write("\n".join(lines))
