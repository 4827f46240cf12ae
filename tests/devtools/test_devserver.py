import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.processes import BASE_DIR, free_port, test_database_url, wait_for


@pytest.mark.django_db(transaction=True)
def test_devserver_serves_http_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url(), "VAR_DIR": str(tmp_path), "PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "devserver"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthz() -> httpx.Response:
            assert process.poll() is None, process.stdout.read() if process.stdout else "devserver exited"
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)

        response = wait_for(healthz, timeout=60, what="devserver /healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "devserver stopped cleanly" in output
    assert f"http://127.0.0.1:{port}/graphql/" in output
