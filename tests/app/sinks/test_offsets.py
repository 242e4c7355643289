"""The offset helpers retry a broker's passing states (no leader, coordinator moving), and only those; a
topic's end, on the session's broker, is where a reader of its isolation level stops."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from app.sinks import offsets
from tests.conftest import unique_name


def _failing(codes: list[int], value):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(codes):
            raise KafkaException(KafkaError(codes[len(calls) - 1]))
        return value

    return call, calls


def test_a_moving_coordinator_is_waited_for():
    call, calls = _failing([KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS], "offsets")
    assert offsets._retrying(call, offsets._NO_COORDINATOR_YET, timeout=5) == "offsets"
    assert len(calls) == 3


def test_any_other_error_is_raised_at_once():
    call, calls = _failing([KafkaError.GROUP_AUTHORIZATION_FAILED], "offsets")
    with pytest.raises(KafkaException, match="GROUP_AUTHORIZATION_FAILED"):
        offsets._retrying(call, offsets._NO_COORDINATOR_YET, timeout=5)
    assert len(calls) == 1


def test_a_coordinator_that_never_comes_fails_after_the_timeout():
    call, calls = _failing([KafkaError.NOT_COORDINATOR] * 100, "offsets")
    with pytest.raises(KafkaException, match="NOT_COORDINATOR"):
        offsets._retrying(call, offsets._NO_COORDINATOR_YET, timeout=0.5)
    assert 2 <= len(calls) < 10


@pytest.mark.integration
def test_the_end_of_a_topic_with_an_open_transaction_is_its_last_stable_offset(kafka_broker):
    topic = unique_name("ends")
    kafka_broker.create_topic(topic, 2)
    plain = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for i in range(5):
        plain.produce(topic, value=b"committed", partition=i % 2)
    assert plain.flush(30) == 0
    open_transaction = Producer(
        {"bootstrap.servers": kafka_broker.bootstrap_servers, "transactional.id": unique_name("tx")}
    )
    open_transaction.init_transactions(30)
    open_transaction.begin_transaction()
    for _ in range(4):
        open_transaction.produce(topic, value=b"open", partition=0)
    assert open_transaction.flush(30) == 0

    def ends(isolation: str) -> dict[int, int]:
        settings = {"bootstrap.servers": kafka_broker.bootstrap_servers, "group.id": unique_name("g")}
        consumer = Consumer(settings | {"isolation.level": isolation})
        try:
            return offsets.end_offsets(consumer, topic)
        finally:
            consumer.close()

    started = time.monotonic()
    assert ends("read_committed") == {0: 3, 1: 2}  # a read_committed reader stops before the open one
    assert ends("read_uncommitted") == {0: 7, 1: 2}
    assert time.monotonic() - started < 5
    open_transaction.abort_transaction(30)
