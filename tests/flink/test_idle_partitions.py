"""A partition that receives nothing must not hold the watermark (and so every indicator) back forever."""

from __future__ import annotations

import time

import pytest

from app.flink import config, market_data
from app.local import flink as local_flink
from tests.conftest import unique_name
from tests.flink import harness

pytestmark = pytest.mark.integration


def test_output_flows_while_one_partition_stays_silent(kafka_broker, tmp_path):
    suffix = "." + unique_name("idle")
    topics = market_data.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))  # two partitions; only partition 0 gets ticks
    base = int(time.time() * 1000) - 60_000
    ticks = [(0, b"AAPL", harness.tick("AAPL", base + i * 100, 100.0 + i % 3)) for i in range(30)]
    ticks.append((0, b"AAPL", harness.tick("AAPL", base + 30 * 100 + 10_000, 1.0)))  # moves partition 0 on
    harness.produce(kafka_broker, topics["raw_topic"], ticks)
    idle_after = config.settings("local").market_data.idle_partition_timeout / 1000
    result = harness.submit("market-data", kafka_broker, suffix, tmp_path / "checkpoints")
    try:
        out = harness.consume(kafka_broker, [topics["processed_topic"]], expected=30, timeout=60 + idle_after)
    finally:
        result.get_job_client().cancel().result()
        local_flink.shutdown()
    assert len(out) == 30
