"""One source reader catching up a backlog of two partitions loses nothing to `late`.

The reader takes a partition's records one fetch (1 MB of compressed batches) at a time. Ticks that
compress well pack ~100k+ into a fetch, which takes the reader longer than the local idle timeout (2 s), so
without watermark alignment the other partition is declared idle mid-backlog, the watermark moves on with
this one, and the other's ticks arrive behind it. Alignment pauses the partition that is ahead instead.
"""

from __future__ import annotations

import collections
import time

import orjson
import pytest
from confluent_kafka import Producer

from app.flink import config, market_data
from app.local import flink as local_flink
from tests.app.flink import harness
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

PER_PARTITION = 200_000
SYMBOLS = [f"S{i:03d}" for i in range(200)]  # even ones to partition 0, odd ones to partition 1
TICKS_PER_MS = 50  # per partition: the event-time density of a busy live feed


def _fill(broker, topic: str, base: int) -> set[tuple[str, int]]:
    """Both partitions, the same event-time span; returns (symbol, timestamp) of every tick."""
    # gzip and large batches: like a producer's compressed backlog, many ticks per fetch.
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "compression.type": "gzip",
            "linger.ms": 50,
            "batch.num.messages": 100_000,
            "batch.size": 4_000_000,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    sent = set()
    for partition in (0, 1):
        for i in range(PER_PARTITION):
            symbol = SYMBOLS[2 * (i % (len(SYMBOLS) // 2)) + partition]
            timestamp = base + i // TICKS_PER_MS
            value = b'{"type":"tick","symbol":"%s","timestamp":%d,"price":%d.5,"volume":%d,"source":"t"}' % (
                symbol.encode(),
                timestamp,
                100 + i % 7,
                i % 3,
            )
            producer.produce(topic, value, symbol.encode(), partition=partition)
            sent.add((symbol, timestamp))
            if i % 50_000 == 0:
                producer.poll(0)
        # Past every tick: the watermark releases the last ones (this tick stays pending).
        producer.produce(topic, harness.tick("ZZZZ", base + 3_600_000, 1.0), b"ZZZZ", partition=partition)
    assert producer.flush(60) == 0
    return sent


def test_one_reader_catching_up_two_partitions_dead_letters_nothing_as_late(kafka_broker, tmp_path):
    suffix = "." + unique_name("backlog")
    topics = market_data.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))
    sent = _fill(kafka_broker, topics["raw_topic"], int(time.time() * 1000) - 86_400_000)
    assert len(sent) == 2 * PER_PARTITION  # (symbol, timestamp) is unique: no tick is a replay
    one_reader = config.settings("local").model_copy(update={"parallelism": 1})
    result = harness.submit(
        "market-data", kafka_broker, suffix, tmp_path / "checkpoints", settings=one_reader
    )
    try:
        out = harness.consume(
            kafka_broker,
            [topics["processed_topic"], topics["dead_letter_topic"]],
            expected=len(sent),
            timeout=240,
        )
    finally:
        result.get_job_client().cancel().result()
        local_flink.shutdown()
    dead = collections.Counter(
        m.value() and orjson.loads(m.value())["reason"]
        for m in out
        if m.topic() == topics["dead_letter_topic"]
    )
    assert not dead, f"dead letters by reason: {dict(dead)}"
    processed = [orjson.loads(m.value()) for m in out if m.topic() == topics["processed_topic"]]
    got = {(tick["symbol"], tick["timestamp"]) for tick in processed}
    assert len(processed) == len(got), "a tick was written twice"
    assert got == sent, f"{len(sent - got)} ticks missing from the output"
