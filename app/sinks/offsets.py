"""Where a topic ends, and reading it to that end: how a bounded local run knows a stage has caught up.

Offsets here are Kafka's next-offset positions; a read_committed reader reaches a partition's end once
the last transaction's commit marker is behind it, so "caught up" also means "nothing left open".
"""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

from app.kafka_client import librdkafka_settings

# A topic created a moment ago may have no partition leader yet.
_NO_LEADER_YET = (
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
)
# A group's coordinator moves or loads now and then (e.g. while the broker compacts __consumer_offsets).
_NO_COORDINATOR_YET = (
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
)


def partitions(consumer: Consumer, topic: str) -> list[TopicPartition]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    if metadata.error is not None:
        raise KafkaException(metadata.error)
    return [TopicPartition(topic, p) for p in sorted(metadata.partitions)]


def end_offsets(consumer: Consumer, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Partition -> high watermark (the offset the next record will get; for a read_committed consumer the
    last stable offset), all partitions in one request: one per partition would each wait behind the
    consumer's fetch in flight (fetch.wait.max.ms, 0.5 s a partition)."""
    latest = [TopicPartition(topic, tp.partition, OFFSET_END) for tp in partitions(consumer, topic)]
    return _retrying(
        lambda: _offsets(consumer.offsets_for_times(latest, timeout=timeout)), _NO_LEADER_YET, timeout
    )


def _offsets(found: list[TopicPartition]) -> dict[int, int]:
    for tp in found:
        if tp.error is not None:
            raise KafkaException(tp.error)
    return {tp.partition: tp.offset for tp in found}


def _retrying(call, transient: tuple, timeout: float):
    """call(), again every 0.2 s while it fails with one of the `transient` errors, for up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except KafkaException as exc:
            if exc.args[0].code() not in transient or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def reached(positions: dict[int, int], ends: dict[int, int]) -> bool:
    """True when every partition's position is at or past its end (a negative position: nothing read)."""
    return all(positions.get(p, -1) >= end for p, end in ends.items() if end > 0)


def committed(consumer: Consumer, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Partition -> the offset the consumer's group has committed (-1001 when none)."""
    return {tp.partition: tp.offset for tp in _committed(consumer, partitions(consumer, topic), timeout)}


def _committed(consumer: Consumer, tps: list[TopicPartition], timeout: float = 10.0) -> list[TopicPartition]:
    return _retrying(lambda: consumer.committed(tps, timeout=timeout), _NO_COORDINATOR_YET, timeout)


def group_start(consumer: Consumer, assigned: list[TopicPartition]) -> list[TopicPartition]:
    """The `assigned` partitions at the consumer's group's committed offsets (the beginning where it has
    none), for `assign`. Fetched here, with retries while the coordinator moves or loads, because the fetch
    that `assign` without offsets leaves to librdkafka can fail on a just-started broker ("Not
    coordinator") and leave the partitions unread, with no error raised."""
    return [
        TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
        for tp in _committed(consumer, assigned)
    ]


def group_caught_up(bootstrap_servers: str, group: str, topic: str) -> bool:
    """True when `group` has committed the end of `topic` as it is now (a job commits on its checkpoints)."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, **librdkafka_settings(), "group.id": group})
    try:
        return reached(committed(consumer, topic), end_offsets(consumer, topic))
    finally:
        consumer.close()


def read_to_end(bootstrap_servers: str, topic: str, timeout: float = 60.0) -> list:
    """Every committed record of `topic` from the beginning up to its end now; fails if not there in time."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            **librdkafka_settings(),
            "group.id": f"wh-read-to-end-{time.monotonic_ns()}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        ends = end_offsets(consumer, topic)
        # At the beginning, not the (new) group's offsets: no offset fetch to stall on (group_start).
        consumer.assign(
            [TopicPartition(topic, tp.partition, OFFSET_BEGINNING) for tp in partitions(consumer, topic)]
        )
        records, deadline = [], time.monotonic() + timeout
        while not reached({tp.partition: tp.offset for tp in consumer.position(consumer.assignment())}, ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not at its end after {timeout:.0f}s ({len(records)} read)")
            for message in consumer.consume(10_000, timeout=0.5):
                if message.error():
                    raise KafkaException(message.error())
                records.append(message)
        return records
    finally:
        consumer.close()
