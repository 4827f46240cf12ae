import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@pytest.mark.django_db
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == {"ok": True}


# django-prometheus 2.5's names.
RESPONSES = "django_http_responses_total_by_status_view_method_total"
REQUESTS = "django_http_requests_total_by_view_transport_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"


def samples(text: str) -> list[Sample]:
    return [found for family in text_string_to_metric_families(text) for found in family.samples]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in /metrics' text, 0 when it is not there yet."""
    return next((float(found.value) for found in samples(text) if (found.name, found.labels) == (name, labels)), 0.0)


@pytest.mark.django_db
def test_metrics_count_requests_by_view_method_and_status(client):
    before = client.get("/metrics").content.decode()
    client.get("/healthz")
    client.get("/api/orders/ALB-1/")
    client.get("/no/such/page")
    text = client.get("/metrics").content.decode()
    for status, view in (("200", "healthz"), ("401", "order-detail"), ("404", "<unnamed view>")):
        labels = {"method": "GET", "status": status, "view": view}
        assert sample(text, RESPONSES, **labels) - sample(before, RESPONSES, **labels) == 1
    assert sample(text, REQUESTS, method="GET", transport="http", view="healthz") >= 1
    # The project's latency buckets, finer than the library's, which start at 10 ms.
    buckets = [found.labels["le"] for found in samples(text) if found.name == f"{LATENCY}_bucket"]
    assert buckets[:3] == ["0.005", "0.01", "0.025"]


# Run in a process of its own, as a granian worker is: `count` requests to /healthz, then (when asked) /metrics.
WORKER = """
import sys
import django
django.setup()
from django.test import Client
client = Client()
for _ in range(int(sys.argv[1])):
    assert client.get("/healthz").status_code == 200
if sys.argv[2] == "scrape":
    print(client.get("/metrics").content.decode())
"""


def worker(count: int, *, scrape: bool, env: dict[str, str]) -> str:
    command = [sys.executable, "-c", WORKER, str(count), "scrape" if scrape else "quiet"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=120).stdout


def test_metrics_add_up_every_worker_process_in_multiprocess_mode(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR set, /metrics in one process counts the requests every process served."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker(3, scrape=False, env=env)
    text = worker(2, scrape=True, env=env)
    assert sample(text, RESPONSES, method="GET", status="200", view="healthz") == 5
    assert sample(text, f"{LATENCY}_count", method="GET", view="healthz") == 5


@pytest.mark.django_db
def test_unknown_url_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
