"""The processes a benchmark run starts: the web server and the event pipeline, each on its own."""

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import httpx

from bench.servers import CHOSEN, server_command

BASE_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class BenchError(RuntimeError):
    """The benchmark cannot go on (a process died, a request failed, a check did not hold)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll `condition` until it returns something truthy; BenchError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except BenchError:
            raise
        except Exception as exc:  # not ready yet
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error!r})")


@dataclass
class Child:
    """A process this run started; its output goes to a log file under var/bench/."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"{self.name} exited with code {self.process.returncode}; see {self.log_path}")

    def request_stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 30.0) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self.log.close()


def stop_all(children: list[Child]) -> None:
    """SIGTERM every child at once (each finishes what it has in hand), then wait for each."""
    for child in children:
        child.request_stop()
    for child in children:
        child.wait_stopped()


def start_process(name: str, command: list[str], *, env: dict[str, str], log_path: Path) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Child(name=name, process=process, log_path=log_path, log=log)


def start_web(*, env: dict[str, str], port: int, workers: int, log_path: Path, server: str = CHOSEN) -> Child:
    """The web server (`bench.servers`), as docker-compose runs it; returns once /healthz answers.

    Like docker-compose, its workers write their metrics to an empty PROMETHEUS_MULTIPROC_DIR of their own
    (beside the log), which /metrics adds up.
    """
    command = server_command(server, port=port, workers=workers)
    metrics_dir = log_path.with_name(f"{log_path.stem}-prometheus")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    child = start_process("web server", command, env=env, log_path=log_path)

    def healthy() -> bool:
        child.check_alive()
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200

    _wait_or_stop([child], healthy, what="the web server's /healthz")
    return child


def start_broker(*, env: dict[str, str], bootstrap_file: Path, log_path: Path) -> Child:
    """The embedded broker (`python -m bench.broker`); returns once it has announced its address."""
    bootstrap_file.unlink(missing_ok=True)
    child = start_process("broker", [sys.executable, "-m", "bench.broker"], env=env, log_path=log_path)

    def announced() -> bool:
        child.check_alive()
        return bootstrap_file.exists() and bool(bootstrap_file.read_text().strip())

    _wait_or_stop([child], announced, what="the embedded broker's address")
    return child


def start_workers(*, env: dict[str, str], consumers: list[str], liveness_dir: Path, log_dir: Path) -> list[Child]:
    """The outbox relay and one process per consumer, as docker-compose runs them; returns once all consume."""
    children = [
        start_process("relay", [sys.executable, "manage.py", "relay_outbox"], env=env, log_path=log_dir / "relay.log")
    ]
    for name in consumers:
        (liveness_dir / f"{name}.alive").unlink(missing_ok=True)
        command = [sys.executable, "manage.py", "consume", name]
        children.append(start_process(f"consumer {name}", command, env=env, log_path=log_dir / f"consume-{name}.log"))

    def consuming() -> bool:
        for child in children:
            child.check_alive()
        return all((liveness_dir / f"{name}.alive").exists() for name in consumers)

    _wait_or_stop(children, consuming, what="every consumer's liveness file")
    return children


def _wait_or_stop(children: list[Child], ready: Callable[[], bool], *, what: str) -> None:
    """Wait until `ready`; on failure stop the children first, so none outlives the run."""
    try:
        wait_until(ready, timeout=120, what=what)
    except BaseException:
        stop_all(children)
        raise


def git_commit() -> str:
    """The commit measured, marked `-dirty` when the tree has local changes (read-only git calls)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=BASE_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
