"""Prometheus metrics of the outbox relay."""

from prometheus_client import Counter, Gauge

OUTBOX_BACKLOG = Gauge("outbox_backlog_events", "Outbox events not yet published")
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox event")
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events published (delivery report received)")
OUTBOX_DELIVERY_ERRORS = Counter("outbox_delivery_errors_total", "Failed delivery reports of outbox events")
OUTBOX_PRUNED = Counter("outbox_pruned_total", "Published outbox events deleted after the retention period")
RELAY_LEADER = Gauge("outbox_relay_leader", "1 while this relay holds the leader lock")
OUTBOX_PARKED = Gauge("outbox_parked_events", "Outbox events the broker refused, set aside until retried or dropped")
RELAY_WAITING = Gauge(
    "outbox_relay_waiting_seconds", "How long events in flight have waited without any delivery report (0 = moving)"
)
RELAY_PRODUCER_REPLACED = Counter(
    "outbox_relay_producer_replaced_total", "Producers replaced because nothing in flight was acknowledged"
)
