"""The REST side's OpenAPI schema is served, and production settings pass `manage.py check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-" + "x9Qz!w2#Lp7" * 6,
    "RAPPI_WEBHOOK_SECRET": "a-webhook-secret",
    "ALLOWED_HOSTS": "delivery.example.com",
}


@pytest.mark.django_db
def test_the_openapi_schema_describes_every_rest_endpoint():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/sessions/",
        "/api/orders/",
        "/api/orders/{albaik_identifier}/",
        "/restaurant/branches/{branch_id}/preparations/",
        "/restaurant/preparations/{preparation_id}/",
        "/webhooks/rappi/{aggregator_id}/couriers/assign/",
        "/webhooks/rappi/{aggregator_id}/kitchen/{status}/",
    } <= paths
    assert set(schema["paths"]["/api/sessions/"]) == {"post", "delete"}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "ALLOWED_HOSTS", "SECRET_KEY"}} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_headers(tmp_path):
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/restaurant/login/', secure=True, HTTP_HOST='delivery.example.com')\n"
        "print(r.status_code, r.headers.get('Strict-Transport-Security'), '|',"
        " r.headers.get('Content-Security-Policy'))\n"
        "print(Client().get('/healthz', HTTP_HOST='evil.example.net').status_code)\n"
    )
    env = {**PRODUCTION, "DJANGO_SETTINGS_MODULE": "config.settings"}
    full = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "ALLOWED_HOSTS", "SECRET_KEY"}} | env
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("200 max-age=31536000; includeSubDomains; preload |")
    assert "default-src 'self'" in first
    assert "frame-ancestors 'none'" in first
    assert second == "400"


@pytest.mark.parametrize("hosts", ["*", ""])
def test_production_refuses_to_start_with_any_host(hosts):
    result = manage("check", env={**PRODUCTION, "ALLOWED_HOSTS": hosts})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_docker_compose_is_strict_and_seeds_nothing():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["x-app"]["environment"]
    assert environment["ALLOWED_HOSTS"] != "*"
    assert "SESSION_COOKIE_SECURE" not in environment
    assert "CSRF_COOKIE_SECURE" not in environment
    assert "change-me" not in str(environment)
    commands = " ".join(" ".join(service.get("command") or []) for service in compose["services"].values())
    assert "seed_demo" not in commands
