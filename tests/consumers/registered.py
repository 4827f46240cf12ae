"""Consumers defined by tests, importable by a `manage.py consume` subprocess through
`CONSUMER_EXTRA_MODULES=tests.consumers.registered`."""

import os
import time

from consumers.registry import ConsumerDefinition, register
from events.envelope import Event
from side_effects.models import EffectKind, EffectPath, EffectRecord


def record_effect(event: Event) -> None:
    """The handler's database effect: one EffectRecord per event, written in the runtime's transaction."""
    delay = float(os.environ.get("TEST_HANDLER_DELAY", "0"))
    if delay:
        time.sleep(delay)
    EffectRecord.objects.create(
        albaik_identifier=event.key,
        kind=EffectKind.BROADCAST,
        path=EffectPath.CONSUMER,
        outcome="ok",
        event_id=event.id,
    )


effects = ConsumerDefinition(name="test_effects", handlers={"driver.status_changed": record_effect})
register(effects)
