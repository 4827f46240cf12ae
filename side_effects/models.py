"""Records of external effects (WASEAT closes, notifications, broadcasts), read by `order_timeline`."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models
from django.utils import timezone


class EffectKind(models.TextChoices):
    WASEAT_CLOSE = "waseat_close"
    NOTIFICATION = "notification"
    BROADCAST = "broadcast"


class EffectPath(models.TextChoices):
    REQUEST = "request", "in the request (old path)"
    CONSUMER = "consumer", "in a Kafka consumer (new path)"


class EffectRecord(models.Model):
    """One external effect done for an order: what, where, when and how it went.

    Read by `order_timeline`; written by whichever path did the work.
    """

    albaik_identifier = models.CharField(max_length=32, db_index=True)
    kind = models.CharField(max_length=32, choices=EffectKind.choices)
    path = models.CharField(max_length=16, choices=EffectPath.choices)
    outcome = models.CharField(max_length=32)  # e.g. "ok", "failed", "skipped"
    event_id = models.UUIDField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.albaik_identifier} {self.kind} {self.outcome} ({self.path})"


# Records waiting for the end of `effect_records_deferred`, when inside one.
_deferred: ContextVar[list[EffectRecord] | None] = ContextVar("effect_records_deferred", default=None)


def record_effect(
    *, albaik_identifier: str, kind: str, path: str, outcome: str, event_id: Any, detail: dict[str, Any]
) -> EffectRecord:
    record = EffectRecord(
        albaik_identifier=albaik_identifier, kind=kind, path=path, outcome=outcome, event_id=event_id, detail=detail
    )
    pending = _deferred.get()
    if pending is None:
        record.save(force_insert=True)
    else:
        pending.append(record)
    return record


@contextmanager
def effect_records_deferred() -> Iterator[None]:
    """Records made inside keep the time of their effect (`at`) and are written on the way out, in
    one insert: a consumer's batch of broadcasts costs one write, not one per event. Only for
    effects that nothing reads back before the batch ends (a WASEAT close checks its records)."""
    pending: list[EffectRecord] = []
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
        if pending:
            EffectRecord.objects.bulk_create(pending)


@contextmanager
def effect_recorded(
    *, albaik_identifier: str, kind: str, path: str, event_id: Any, detail: dict[str, Any]
) -> Iterator[None]:
    """Do an external effect and record how it went: "ok", or "failed" with the error (re-raised)."""
    fields = {"albaik_identifier": albaik_identifier, "kind": kind, "path": path, "event_id": event_id}
    try:
        yield
    except Exception as exc:
        record_effect(**fields, outcome="failed", detail={**detail, "error": str(exc)})
        raise
    record_effect(**fields, outcome="ok", detail=detail)
