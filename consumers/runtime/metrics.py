"""Prometheus metrics of the consumer runtime (served by the web's /metrics under devserver,
or by `consume --metrics-port`)."""

from prometheus_client import Counter, Gauge, Histogram

PROCESSED = Counter(
    "consumer_messages_processed_total",
    "Messages done with, by outcome: processed, duplicate (already processed), skipped (no handler)",
    ["consumer", "outcome"],
)
RETRIED = Counter("consumer_messages_retried_total", "Handler attempts that failed and were retried", ["consumer"])
DEAD_LETTERED = Counter(
    "consumer_messages_dead_lettered_total",
    "Messages sent to the dead-letter topic, by reason: invalid, permanent, exhausted",
    ["consumer", "reason"],
)
HANDLER_SECONDS = Histogram(
    "consumer_handler_duration_seconds",
    "Handler latency (one successful attempt, transaction included)",
    ["consumer", "event_type"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LAG = Gauge(
    "consumer_lag_messages", "Messages behind the end of each assigned partition", ["consumer", "topic", "partition"]
)
HALTED = Counter("consumer_halted_total", "Times the dead-letter limit stopped a consumer", ["consumer"])
LAST_PROGRESS = Gauge(
    "consumer_last_progress_timestamp_seconds",
    "When the consumer last finished a message or had nothing to do (Unix time)",
    ["consumer"],
)
RETRYING = Gauge("consumer_partitions_retrying", "Partitions paused while a message waits for its retry", ["consumer"])
