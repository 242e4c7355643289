"""A partition that receives nothing must not hold the watermark (and so every indicator) back forever."""

from __future__ import annotations

import time

import orjson
import pytest

from app.flink import config, market_data
from app.local import flink as local_flink
from tests.app.flink import harness
from tests.conftest import unique_name

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


def test_a_resumed_partition_behind_the_watermark_is_placed_and_only_a_symbols_past_is_late(
    kafka_broker, tmp_path
):
    """Partition 1 idles while partition 0 moves the job's watermark on; when partition 1 resumes with a
    tick behind that watermark, its symbol has emitted nothing later, so the tick is placed in its
    symbol's order and written. A tick older than what its own symbol has emitted is `late`: it goes to the
    dead-letter topic, not out with indicators computed after later ticks."""
    suffix = "." + unique_name("resume")
    topics = market_data.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))
    base = int(time.time() * 1000) - 60_000
    ticks = [(0, b"AAPL", harness.tick("AAPL", base + i * 100, 100.0 + i % 3)) for i in range(30)]
    ticks.append((0, b"AAPL", harness.tick("AAPL", base + 20_000, 1.0)))  # partition 0's watermark: ~base+20s
    harness.produce(kafka_broker, topics["raw_topic"], ticks)
    idle_after = config.settings("local").market_data.idle_partition_timeout / 1000
    result = harness.submit("market-data", kafka_broker, suffix, tmp_path / "checkpoints")
    try:
        # All 30 out: partition 1 was declared idle, the job's watermark is partition 0's.
        out = harness.consume(kafka_broker, [topics["processed_topic"]], expected=30, timeout=60 + idle_after)
        assert len(out) == 30
        behind = harness.tick("MSFT", base + 10_000, 50.0, trade_id="M-1")
        mover = harness.tick("MSFT", base + 40_000, 51.0, trade_id="M-2")  # then moves the watermark past it
        harness.produce(kafka_broker, topics["raw_topic"], [(1, b"MSFT", behind), (1, b"MSFT", mover)])
        # Out once partition 0 idles and the watermark is partition 1's: M-1, and AAPL's tick at base+20s.
        placed = harness.consume(kafka_broker, [topics["processed_topic"]], expected=32, timeout=60)
        past = harness.tick("AAPL", base + 1_050, 99.0, trade_id="A-past")  # AAPL has emitted base+20s
        harness.produce(kafka_broker, topics["raw_topic"], [(0, b"AAPL", past)])
        dead = harness.consume(kafka_broker, [topics["dead_letter_topic"]], expected=1, timeout=60)
    finally:
        result.get_job_client().cancel().result()
        local_flink.shutdown()
    msft = [orjson.loads(m.value()) for m in placed if m.key() == b"MSFT"]
    assert [t["trade_id"] for t in msft] == ["M-1"], "the resumed partition's tick is written, in order"
    assert [dict(m.headers())["dlq.reason"] for m in dead] == [b"late"]
    letter = orjson.loads(dead[0].value())
    assert orjson.loads(letter["raw"])["trade_id"] == "A-past"  # the parsed tick stands in for its raw bytes
