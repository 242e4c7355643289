"""Exactly-once, proven: kill -9 the market-data job mid-stream, restart it from its checkpoint, and the
committed output holds every input tick exactly once, with indicators as if it had never stopped."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

from app.flink import market_data
from app.local.flink_jobs import latest_checkpoint
from infra.process import pid_alive
from tests.app.flink import harness, reference
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

SYMBOLS = [f"S{i:03d}" for i in range(20)]
ROUNDS = 150  # ticks per symbol
RATE = 600  # ticks per second while the job runs: the kill lands mid-stream


def _wait_for(what: str, check, timeout: float, job: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert job.poll() is None, (
            f"the job exited ({job.returncode}) while waiting for {what}:\n{log.read_text()[-3000:]}"
        )
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f}s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def test_kill_and_restart_from_checkpoint_loses_and_duplicates_nothing(kafka_broker, tmp_path):
    suffix = "." + unique_name("eo")
    topics = market_data.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))
    checkpoints, log = tmp_path / "checkpoints", tmp_path / "job.log"
    base = int(time.time() * 1000) - 3_600_000
    ticks = [
        {
            "symbol": symbol,
            "timestamp": base + r * 50 + s,
            "price": round(100 + s + ((r * 7919 + s * 31) % 200) / 50, 4),
        }
        for r in range(ROUNDS)
        for s, symbol in enumerate(SYMBOLS)
    ]
    stop_at = threading.Event()

    def feed(records: list[dict]) -> None:
        for start in range(0, len(records), RATE // 10):
            batch = records[start : start + RATE // 10]
            harness.produce(
                kafka_broker,
                topics["raw_topic"],
                [(SYMBOLS.index(t["symbol"]) % 2, t["symbol"].encode(), harness.tick(**t)) for t in batch],
            )
            time.sleep(0.1)
        stop_at.set()

    feeder = threading.Thread(target=feed, args=(ticks,), daemon=True)
    job = harness.start_job(kafka_broker.bootstrap_servers, checkpoints, log, suffix)
    try:
        _wait_for("first checkpoint", lambda: latest_checkpoint(checkpoints) is not None, 180, job, log)
        feeder.start()
        time.sleep(4.5)  # two more checkpoints (2 s interval locally), output committed in between
        harness.kill_job(job)
        assert not stop_at.is_set(), "the input ended before the kill: raise ROUNDS so the kill is mid-stream"
        # Its open transactions now hold read_committed readers back until the restarted job aborts them.
        killed_at = latest_checkpoint(checkpoints)
        job = harness.start_job(kafka_broker.bootstrap_servers, checkpoints, log, suffix)
        feeder.join(120)
        last = ticks[-1]["timestamp"]
        harness.produce(
            kafka_broker,
            topics["raw_topic"],
            [(p, b"ZZZ", harness.tick("ZZZ", last + 10_000, 1.0)) for p in (0, 1)],
        )
        out = harness.consume(
            kafka_broker, [topics["processed_topic"]], expected=len(ticks), timeout=240, exact_wait=8.0
        )
    finally:
        if job.poll() is None:
            harness.kill_job(job)
    assert not pid_alive(job.pid)
    assert f"resuming from checkpoint {killed_at}" in log.read_text()
    processed = pd.DataFrame([orjson.loads(m.value()) for m in out])
    keys = list(zip(processed["symbol"], processed["timestamp"], strict=True))
    assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} ticks written twice"
    assert sorted(keys) == sorted((t["symbol"], t["timestamp"]) for t in ticks), "ticks lost"
    expected = reference.indicators(pd.DataFrame(ticks)).set_index(["symbol", "timestamp"])
    merged = processed.set_index(["symbol", "timestamp"]).join(expected, rsuffix="_ref")
    for column in ["sma_20", "sma_50", "rsi_14", "bollinger_upper", "bollinger_lower"]:
        diff = (merged[column] - merged[f"{column}_ref"]).abs()
        assert diff.max() <= 1e-9, f"{column} differs after the restart by {diff.max()}"
        assert merged[column].isna().equals(merged[f"{column}_ref"].isna())
