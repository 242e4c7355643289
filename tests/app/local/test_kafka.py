"""The local Kafka broker: real produce/consume, catalog-only topics, clear errors, nothing left running."""

from __future__ import annotations

import socket

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient

from app.local.kafka import KafkaBroker, cluster_id
from infra.process import ServiceError, pid_alive
from tests.conftest import unique_name

pytestmark = pytest.mark.integration


def test_produce_then_consume_every_message(kafka_broker):
    topic = unique_name("roundtrip")
    kafka_broker.create_topic(topic, partitions=3)
    sent = [(f"sym{i % 7}".encode(), f"tick-{i}".encode()) for i in range(200)]
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers, "enable.idempotence": True})
    for key, value in sent:
        producer.produce(topic, value=value, key=key)
    assert producer.flush(30) == 0

    received = [(m.key(), m.value()) for m in kafka_broker.consume(topic, len(sent))]

    assert sorted(received) == sorted(sent)


def test_topics_are_not_auto_created(kafka_broker):
    topic = unique_name("never_created")
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers})
    metadata = admin.list_topics(topic=topic, timeout=10)
    assert metadata.topics[topic].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert topic not in admin.list_topics(timeout=10).topics


def test_port_already_taken_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError, match=rf"Kafka: port 127.0.0.1:{port} is already in use"):
            KafkaBroker(port=port).start()


def test_missing_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ServiceError, match=r"JAVA_HOME=.* has no bin/java: install openjdk-17-jre-headless"):
        KafkaBroker().start()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceError, match=r"java not found \(JAVA_HOME unset, none on PATH\)"):
        KafkaBroker().start()


def test_stop_leaves_no_process_and_no_storage():
    broker = KafkaBroker().start()
    pid, workdir = broker.pid, broker.workdir
    assert pid_alive(pid) and (workdir / "data" / "meta.properties").is_file()

    broker.stop()

    assert not pid_alive(pid)
    assert not workdir.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", broker.port)) != 0


def test_cluster_ids_never_look_like_an_option():
    import base64

    ids = [cluster_id() for _ in range(5000)]
    # 1 in 64 unconstrained ids would start with "-": the storage tool took those for an option.
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)
