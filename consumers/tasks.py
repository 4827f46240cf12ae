"""Celery tasks of the consumer app: just another interface over its services."""

from dataclasses import asdict

from celery import shared_task


@shared_task(acks_late=True)
def consumer_records_prune_task() -> dict[str, int]:
    """Periodic (Celery beat): prune old ProcessedEvent and EffectRecord rows."""
    from consumers.services import consumer_records_prune

    return asdict(consumer_records_prune())
