import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from consumers.models import ProcessedEvent
from consumers.registry import ConsumerDefinition
from delivery.models import Delivery, DeliveryStatus, DeliveryStatusChange, Order, OrderStatus
from delivery.selectors.snapshots import delivery_snapshot, delivery_with_related
from events.envelope import Event, driver_key
from events.models import OutboxEvent
from events.publishing import publish
from events.relay import OutboxRelay
from side_effects.models import EffectKind, EffectPath, EffectRecord
from tests.events.samples import publish_driver_events
from tests.factories import DriverFactory, order_for
from tests.processes import wait_for


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.tansu_limit  # the lag report is end offset minus committed offset
@pytest.mark.django_db(transaction=True)
def test_consumer_lag_matches_what_was_produced_and_consumed(kafka, consumer):
    definition = ConsumerDefinition(name="lagging", handlers={"driver.status_changed": lambda event: None})
    consumed = publish_driver_events(drivers=6, per_driver=4)
    OutboxRelay().publish_pending()
    topic = kafka.topic()
    runner = consumer(definition)
    wait_for(lambda: sum(kafka.committed(definition.group, topic).values()) == 24, timeout=30, what="24 committed")
    runner.stop()
    waiting = publish_driver_events(drivers=6, per_driver=2)
    OutboxRelay().publish_pending()

    report = json.loads(run("consumer_lag", "lagging", "--json"))

    messages = kafka.read(topic)
    consumed_ids = {str(e.id) for e in consumed}
    ends = Counter(m.partition() for m in messages)
    done = Counter(m.partition() for m in messages if dict(m.headers())["event_id"].decode() in consumed_ids)
    [group] = report["groups"]
    assert group["consumer"] == "lagging"
    assert group["group"] == definition.group
    assert group["lag"] == len(waiting) == 12
    assert group["lag_seconds"] > 0
    partitions = {p["partition"]: p for p in group["partitions"]}
    assert set(partitions) == set(range(kafka.ensure_topic(topic)))
    for number, row in partitions.items():
        assert row["topic"] == topic
        assert row["end"] == ends[number]
        assert row["committed"] == (done[number] if done[number] else None)
        assert row["lag"] == ends[number] - done[number]
        assert (row["lag_seconds"] > 0) == (row["lag"] > 0)

    text = run("consumer_lag", "lagging")
    assert definition.group in text


@pytest.mark.django_db(transaction=True)
def test_consumer_lag_of_a_group_whose_topic_does_not_exist_yet(kafka):
    report = json.loads(run("consumer_lag", "waseat", "--json"))
    [group] = report["groups"]
    assert group["lag"] == 0
    assert group["partitions"] == []
    assert group["missing_topics"] == [kafka.topic()]


def test_commands_name_an_unknown_consumer(kafka):
    with pytest.raises(CommandError):
        call_command("consumer_lag", "no_such_consumer")
    with pytest.raises(CommandError):
        call_command("replay_dead_letters", "no_such_consumer")
    with pytest.raises(CommandError):
        call_command("replay_dead_letters", "waseat", "--limit", "0")
    with pytest.raises(CommandError):
        call_command("consume", "no_such_consumer")


def test_commands_without_a_broker_say_so(settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "kafka.bootstrap"
    for command in (("consumer_lag",), ("replay_dead_letters", "waseat"), ("consume", "waseat")):
        with pytest.raises(CommandError, match="KAFKA_BOOTSTRAP_SERVERS"):
            call_command(*command)


@pytest.mark.django_db(transaction=True)
def test_order_timeline_lists_status_changes_events_consumers_and_effects(kafka, consumer):
    order = order_for()
    delivery = Delivery.objects.create(order=order, driver=DriverFactory.create())
    DeliveryStatusChange.objects.create(delivery=delivery, status=DeliveryStatus.ASSIGNED, source="assignment")
    with transaction.atomic():
        snapshot = delivery_snapshot(delivery_with_related().get(pk=delivery.pk))
        assigned = publish(event_type="trip.assigned", key=driver_key(delivery.driver_id), data=snapshot)

    def broadcast(event: Event) -> None:
        EffectRecord.objects.create(
            albaik_identifier=event.data["order"]["albaik_identifier"],
            kind=EffectKind.BROADCAST,
            path=EffectPath.CONSUMER,
            outcome="ok",
            event_id=event.id,
        )

    OutboxRelay().publish_pending()
    consumer(ConsumerDefinition(name="dashboard_test", handlers={"trip.assigned": broadcast}))
    wait_for(lambda: ProcessedEvent.objects.filter(event_id=assigned.id).exists(), timeout=30, what="processed")

    timeline = json.loads(run("order_timeline", order.albaik_identifier, "--json"))

    assert timeline["order"]["albaik_identifier"] == order.albaik_identifier
    assert timeline["order"]["id"] == order.pk
    entries = timeline["entries"]
    assert all({"at", "kind"} <= entry.keys() for entry in entries)
    assert [entry["at"] for entry in entries] == sorted(entry["at"] for entry in entries)
    kinds = [entry["kind"] for entry in entries]
    assert kinds.index("event") < kinds.index("processed") < kinds.index("broadcast")
    [status] = [e for e in entries if e["kind"] == "status_change"]
    assert status["status"] == "assigned"
    [event] = [e for e in entries if e["kind"] == "event"]
    assert event["event_id"] == str(assigned.id)
    assert event["type"] == "trip.assigned"
    published_at = OutboxEvent.objects.get(event_id=assigned.id).published_at
    assert published_at is not None
    assert event["published_at"] == published_at.isoformat()
    [processed] = [e for e in entries if e["kind"] == "processed"]
    assert (processed["consumer"], processed["event_id"]) == ("dashboard_test", str(assigned.id))
    [effect] = [e for e in entries if e["kind"] == "broadcast"]
    assert (effect["path"], effect["outcome"]) == ("consumer", "ok")

    text = run("order_timeline", order.albaik_identifier)
    assert "trip.assigned" in text
    assert "dashboard_test" in text


@pytest.mark.django_db
def test_order_timeline_of_an_unknown_order():
    err = StringIO()
    with pytest.raises(CommandError, match="not_found"):
        call_command("order_timeline", "ALB-NOPE", "--json", stderr=err)
    assert json.loads(err.getvalue())["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_readiness_reports_the_broker_and_the_outbox(client, kafka):
    publish_driver_events(drivers=1, per_driver=2)
    report = client.get("/readyz").json()
    assert report["broker"]["ok"] is True
    assert report["broker"]["bootstrap_servers"] == kafka.bootstrap
    assert report["broker"]["outbox"]["backlog"] == 2


@pytest.mark.django_db
def test_readiness_without_a_broker_is_reported_not_fatal(client, settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "kafka.bootstrap"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["broker"]["ok"] is False


@pytest.mark.django_db
def test_order_timeline_rows_say_what_happened_at_their_time():
    order = order_for()
    delivery = Delivery.objects.create(order=order, driver=DriverFactory.create(), status=DeliveryStatus.DELIVERED)
    DeliveryStatusChange.objects.create(delivery=delivery, status=DeliveryStatus.ASSIGNED, source="assignment")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.DELIVERED)

    timeline = json.loads(run("order_timeline", order.albaik_identifier, "--json"))

    assert timeline["order"]["status"] == "delivered"
    placed, assigned = timeline["entries"][:2]
    assert (placed["kind"], placed["status"]) == ("order_placed", "placed")
    assert (assigned["kind"], assigned["status"]) == ("status_change", "assigned")
