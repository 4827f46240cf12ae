"""Liveness and readiness endpoints (`/metrics` is django-prometheus's view, see config/urls.py)."""

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse

# Components add readiness reporters here (e.g. the broker); each returns a JSON-able dict,
# with `"ready": False` when the process must not take traffic (a report without it only informs).
readiness_reporters: dict[str, Callable[[], dict[str, Any]]] = {}


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    report: dict[str, Any] = {}
    ready = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True}
    except Exception as exc:  # any driver error means "not ready", never a 500
        report["database"] = {"ok": False, "error": str(exc)}
        ready = False
    for name, reporter in readiness_reporters.items():
        try:
            report[name] = reporter()
        except Exception as exc:
            report[name] = {"ok": False, "error": str(exc)}
        if report[name].get("ready") is False:
            ready = False
    report["status"] = "ready" if ready else "unavailable"
    return JsonResponse(report, status=200 if ready else 503)
