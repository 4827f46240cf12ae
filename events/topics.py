"""Topic names (contract §5); `KAFKA_TOPIC_PREFIX` namespaces every topic."""

from django.conf import settings

DELIVERY_EVENTS = "delivery-events"


def topic_name(logical: str = DELIVERY_EVENTS) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}{logical}"


def dlq_topic(consumer: str) -> str:
    return topic_name(f"{DELIVERY_EVENTS}.dlq.{consumer}")
