"""How long a consumer process takes to get its partitions (a measurement, not a test).

    DATABASE_URL=postgres://... .venv/bin/python -m tests.consumers.rejoin_time [--session-ms 6000]

Starts the embedded broker, then `manage.py consume test_effects` as a real process: a cold
start, a restart after SIGKILL with the same static membership id, and a restart after SIGKILL
with dynamic membership. Prints the seconds from process start to its first assignment.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session-ms", type=int, default=6000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from events.broker import embedded_broker_start

    base = Path(__file__).resolve().parent.parent.parent
    broker = embedded_broker_start()
    prefix = f"rejoin{uuid.uuid4().hex[:6]}-"
    results: dict[str, float] = {}
    with TemporaryDirectory() as tmp:

        def start(label: str, instance_id: str) -> tuple[subprocess.Popen[bytes], float]:
            env = {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "KAFKA_TOPIC_PREFIX": prefix,
                "CONSUMER_EXTRA_MODULES": "tests.consumers.registered",
                "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": str(args.session_ms),
                "KAFKA_CONSUMER_INSTANCE_ID": instance_id,
                "VAR_DIR": tmp,
            }
            log = Path(tmp) / f"{label}.log"
            started = time.monotonic()
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [sys.executable, "manage.py", "consume", "test_effects"],
                    cwd=base,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            deadline = started + 180
            while time.monotonic() < deadline:
                if "assigned" in log.read_text() and "assigned nothing" not in log.read_text():
                    break
                time.sleep(0.05)
            results[label] = round(time.monotonic() - started, 2)
            print(label, results[label], file=sys.stderr, flush=True)
            return process, started

        process, _ = start("cold_start_static", "one")
        process.kill()
        process.wait()
        process, _ = start("restart_after_kill_same_static_id", "one")
        process.kill()
        process.wait()
        process, _ = start("restart_after_kill_dynamic", "")
        process.terminate()
        process.wait()
    broker.stop()
    print(json.dumps({"session_timeout_ms": args.session_ms, "seconds_to_assignment": results}))


if __name__ == "__main__":
    main()
