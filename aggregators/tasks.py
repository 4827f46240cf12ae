"""Celery tasks of the aggregator integration: thin shells over its services."""

import logging

from celery import shared_task

from aggregators.fetcher import aggregator_orders_fetch
from aggregators.transitions import RAPPI
from integrations.http import HTTPDeliveryError

logger = logging.getLogger(__name__)


@shared_task(name="aggregators.tasks.aggregator_orders_fetch_task")
def aggregator_orders_fetch_task() -> int:
    """Poll the aggregator for new orders (every AGGREGATOR_POLL_SECONDS); returns how many were new."""
    try:
        return len(aggregator_orders_fetch(aggregator=RAPPI).published)
    except HTTPDeliveryError as exc:  # the next poll tries again
        logger.warning("polling %s for new orders failed: %s", RAPPI, exc)
        return 0
