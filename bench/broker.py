"""The benchmark's Kafka-protocol broker, in its own process: `python -m bench.broker`.

The embedded broker (librdkafka's mock cluster) lives as long as the process that owns it;
the relay and the consumers run as separate processes, as in production, and find it
through `$VAR_DIR/kafka.bootstrap`. Runs until SIGTERM or SIGINT.
"""

import os
import signal
import threading
from types import FrameType

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from events.broker import EmbeddedBrokerService

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    broker = EmbeddedBrokerService()
    broker.start()
    print("broker started", flush=True)
    try:
        stopping.wait()
    finally:
        broker.stop()
        print("broker stopped", flush=True)


if __name__ == "__main__":
    main()
