"""Run a job of app.flink against the real broker: topics with a unique suffix, produce, collect output."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer

from app.flink import config
from app.local import flink_jobs
from tests import REPO


def start_job(bootstrap_servers: str, checkpoints: Path, log: Path, suffix: str = "") -> subprocess.Popen:
    """The market-data job as `wh flink-job` runs it (resuming from the newest checkpoint in
    `checkpoints`), its output appended to `log`."""
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "flink-job",
        "market-data",
        "--bootstrap-servers",
        bootstrap_servers,
        "--checkpoint-dir",
        str(checkpoints),
        "--topic-suffix",
        suffix,
    ]
    # A session of its own, so the kill reaches the job's gateway JVM too (it is the JVM that runs Flink).
    return subprocess.Popen(
        command,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def kill_job(job: subprocess.Popen) -> None:
    """SIGKILL the job's process group (a crash of the gateway JVM with its mini-cluster)."""
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(30)


def create_topics(broker, names: list[str], partitions: int = 2) -> None:
    for name in names:
        broker.create_topic(name, partitions)


def produce(broker, topic: str, records: list[tuple[int, bytes | None, bytes]]) -> None:
    """records: (partition, key, value), written in order."""
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "enable.idempotence": True,
            "compression.type": "lz4",
            "message.max.bytes": 2_000_000,
        }
    )
    for partition, key, value in records:
        producer.produce(topic, value=value, key=key, partition=partition)
    assert producer.flush(30) == 0, "producer could not deliver every test record"


def consume(broker, topics: list[str], expected: int, timeout: float, *, exact_wait: float = 3.0) -> list:
    """Read committed records from `topics` until `expected` arrived and `exact_wait` passed with no more."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": f"reader-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics)
    got, deadline, settle = [], time.monotonic() + timeout, None
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                got.append(message)
                settle = None
            elif len(got) >= expected:
                settle = settle or time.monotonic()
                if time.monotonic() - settle > exact_wait:
                    break
    finally:
        consumer.close()
    return got


def submit(job: str, broker, suffix: str, checkpoint_dir: Path, settings=None, **kwargs):
    """Submit `job` with the local settings (or `settings`) on topics with `suffix`."""
    return flink_jobs.submit(
        job,
        settings or config.settings("local"),
        broker.bootstrap_servers,
        checkpoint_dir=checkpoint_dir,
        topic_suffix=suffix,
        **kwargs,
    )


def tick(symbol: str, timestamp, price, volume=100, **extra) -> bytes:
    return orjson.dumps(
        {
            "type": "tick",
            "symbol": symbol,
            "timestamp": timestamp,
            "price": price,
            "volume": volume,
            "source": "test",
            **extra,
        }
    )


def rest_overrides(port: int) -> dict[str, str]:
    """Mini-cluster keys for a REST API on 127.0.0.1:`port` whose metrics are at most 0.5 s old."""
    return {
        "rest.bind-address": "127.0.0.1",
        "rest.address": "127.0.0.1",
        "rest.port": str(port),
        "metrics.fetcher.update-interval": "500",
    }


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return orjson.loads(response.read())


def metric_by_variable(rest: str, job_id: str, metric: str, variable: str) -> collections.Counter:
    """Sum over all operators and subtasks of the user metric `<variable>.<value>.<metric>`, per value."""
    totals: collections.Counter = collections.Counter()
    for vertex in _get(f"{rest}/jobs/{job_id}")["vertices"]:
        base = f"{rest}/jobs/{job_id}/vertices/{vertex['id']}/metrics"
        names = [m["id"] for m in _get(base) if m["id"].endswith(f".{metric}")]
        if not names:
            continue
        for item in _get(f"{base}?get={urllib.parse.quote(','.join(names))}"):
            parts = item["id"].split(".")
            assert parts[-3] == variable, item["id"]
            totals[parts[-2]] += int(item["value"])
    return totals


def settled_metric(
    rest: str, job_id: str, metric: str, variable: str, timeout: float = 30.0
) -> collections.Counter:
    """A metric's counts by `variable` once they stop changing (the REST API samples them)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        counts = metric_by_variable(rest, job_id, metric, variable)
        if counts and counts == last:
            return counts
        last = counts
        time.sleep(1.0)
    return last or collections.Counter()
