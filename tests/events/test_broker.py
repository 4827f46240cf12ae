import pytest
from confluent_kafka import Producer

from events.broker import BrokerNotConfigured, EmbeddedBrokerService, bootstrap_servers, embedded_broker_services


def test_bootstrap_servers_prefers_the_setting(settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_SERVERS = "kafka:9092"
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "kafka.bootstrap"
    settings.KAFKA_BOOTSTRAP_FILE.write_text("127.0.0.1:1234\n")
    assert bootstrap_servers() == "kafka:9092"


def test_bootstrap_servers_reads_a_running_devservers_file(settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "kafka.bootstrap"
    settings.KAFKA_BOOTSTRAP_FILE.write_text("127.0.0.1:1234\n")
    assert bootstrap_servers() == "127.0.0.1:1234"


def test_bootstrap_servers_without_a_broker_is_a_clear_error(settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "kafka.bootstrap"
    with pytest.raises(BrokerNotConfigured):
        bootstrap_servers()


def test_devserver_runs_the_embedded_broker_only_without_kafka(settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "kafka.bootstrap"
    settings.KAFKA_BOOTSTRAP_SERVERS = "kafka:9092"
    assert embedded_broker_services() == []
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    assert [service.name for service in embedded_broker_services()] == ["kafka-broker"]


def test_embedded_broker_service_announces_its_address_and_takes_it_back(settings, tmp_path):
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    settings.KAFKA_BOOTSTRAP_FILE = tmp_path / "var" / "kafka.bootstrap"
    service = EmbeddedBrokerService()
    service.start()
    try:
        address = bootstrap_servers()
        assert address.startswith("127.0.0.1:")
        # A plain client in "another shell" reaches it through the file.
        delivered: list[object] = []
        producer = Producer({"bootstrap.servers": address, "enable.idempotence": True})
        producer.produce("probe", value=b"x", on_delivery=lambda err, msg: delivered.append(err))
        producer.flush(10)
        producer.close()
        assert delivered == [None]
    finally:
        service.stop()
    assert not settings.KAFKA_BOOTSTRAP_FILE.exists()
