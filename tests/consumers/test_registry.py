import pytest

from consumers.registry import (
    CONSUMER_MODULES,
    ConsumerDefinition,
    UnknownConsumer,
    all_consumers,
    get_consumer,
    register,
)


def test_every_module_consumer_is_found_by_name():
    for name in CONSUMER_MODULES:
        definition = get_consumer(name)
        assert definition.name == name
        assert definition.topics == ("delivery-events",)


def test_unknown_consumer_is_a_clear_error():
    with pytest.raises(UnknownConsumer):
        get_consumer("no_such_consumer")


def test_all_consumers_lists_the_modules_in_order():
    names = [definition.name for definition in all_consumers()]
    assert names[: len(CONSUMER_MODULES)] == list(CONSUMER_MODULES)


def test_group_and_topics_are_namespaced_by_the_prefix(settings):
    settings.KAFKA_TOPIC_PREFIX = "staging-"
    definition = ConsumerDefinition(name="waseat", handlers={})
    assert definition.group == "staging-waseat"
    assert definition.topic_names == ("staging-delivery-events",)
    assert definition.dlq_topic == "staging-delivery-events.dlq.waseat"
    assert ConsumerDefinition(name="x", handlers={}, group_id="custom").group == "staging-custom"


def test_registered_consumers_are_found(settings):
    register(ConsumerDefinition(name="registered_in_a_test", handlers={}))
    assert get_consumer("registered_in_a_test").name == "registered_in_a_test"
    assert "registered_in_a_test" in [d.name for d in all_consumers()]
