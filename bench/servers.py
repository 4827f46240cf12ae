"""The web servers the benchmark can measure, as command lines; the production shape uses `CHOSEN`."""

import os
import sys

# Measured with `python -m bench.serving` (README "Serving"): granian's WSGI interface answers plain HTTP
# fastest; websockets stay on ASGI (uvicorn), which docker-compose serves on /ws/.
CHOSEN = "granian-wsgi"
# Threads per WSGI worker: a request of the old path waits ~200 ms on WASEAT and the push gateway after
# its commit; other threads of the worker keep answering meanwhile.
THREADS = int(os.environ.get("WEB_THREADS", "4"))


def server_command(name: str, *, port: int, workers: int, threads: int = THREADS) -> list[str]:
    """The command line that serves HTTP on 127.0.0.1:`port` with `workers` processes (of `threads` threads)."""
    host, port_text, count = "127.0.0.1", str(port), str(workers)
    commands = {
        "gunicorn": [
            sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port_text}",
            "--workers", count, "--worker-class", "sync", "--keep-alive", "75", "--log-level", "warning",
        ],
        "gunicorn-gthread": [
            sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port_text}",
            "--workers", count, "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "75",
            "--log-level", "warning",
        ],
        "uvicorn": [
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", host, "--port", port_text,
            "--workers", count, "--lifespan", "off", "--no-access-log", "--log-level", "warning",
        ],
        "granian-wsgi": [
            sys.executable, "-m", "granian", "--interface", "wsgi", "config.wsgi:application", "--host", host,
            "--port", port_text, "--workers", count, "--blocking-threads", str(threads), "--no-ws",
            "--log-level", "warning",
        ],
        "granian-asgi": [
            sys.executable, "-m", "granian", "--interface", "asgi", "config.asgi:application", "--host", host,
            "--port", port_text, "--workers", count, "--log-level", "warning",
        ],
    }  # fmt: skip
    return commands[name]


SERVERS = ("gunicorn", "gunicorn-gthread", "uvicorn", "granian-wsgi", "granian-asgi")
