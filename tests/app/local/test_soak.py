"""Soak: the local pipeline under sustained input for ten minutes while the broker, PostgreSQL and the
market-data Flink job are each SIGKILLed once, at random moments, and started again.

The synthetic connector -> market-data-raw (with a malformed record every few seconds) -> the Flink job (a
`wh flink-job` process, resuming from its newest checkpoint after the kill) -> market-data-processed -> the
supervised loader (app/sinks/supervisor.py) -> market_data_ts and the processed lake on the emulator.
Afterwards every tick the broker acknowledged is in the table and in the lake exactly once, every malformed
record is on the dead-letter topic with its reason, and the counts are printed."""

from __future__ import annotations

import asyncio
import collections
import io
import random
import threading
import time
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer

from app.catalog import catalog
from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.runtime import Connector
from app.local.bounded_job import BoundedJob
from app.local.flink_jobs import latest_checkpoint
from app.local.pipeline import MALFORMED
from app.local.services import local_services
from app.sinks.loads import LOADS
from app.sinks.offsets import read_to_end
from app.sinks.supervisor import keep_loading
from app.sinks.timescale import loader_with_lake
from tests.app.flink import harness
from tests.conftest import unique_bucket

pytestmark = pytest.mark.integration

SOAK_SECONDS = 600.0
RATE = 400  # ticks per second from the synthetic connector
MALFORMED_EVERY = 3.0  # seconds between malformed records
DOWNTIME = 5.0  # seconds each killed service stays down
EDGE = 60.0  # no kill in the first and last minute; kills at least this far apart
DRAIN_TIMEOUT = 300.0
SETTLED = 60.0  # seconds without a new row after which draining is over, complete or not
KEY = "symbol, time, trade_key"  # market_data_ts's key, which identifies a trade


def kill_moments(rng: random.Random) -> dict[str, float]:
    """A random second of the soak for each kill, in a random order, EDGE apart and away from its ends."""
    order = rng.sample(["broker", "postgres", "flink"], 3)
    slack = SOAK_SECONDS - 2 * EDGE - 2 * EDGE  # what is left after the edges and the gaps between kills
    cuts = sorted(rng.uniform(0, slack) for _ in order)
    return {name: EDGE + cut + i * EDGE for i, (name, cut) in enumerate(zip(order, cuts, strict=True))}


def test_ten_minutes_with_the_broker_postgres_and_the_job_killed_lose_and_duplicate_nothing(
    aws_emulator, tmp_path
):
    seed = random.randrange(2**32)
    moments = kill_moments(random.Random(seed))
    print(f"\nsoak seed {seed}: kills at " + ", ".join(f"{n} {t:.0f}s" for n, t in moments.items()))
    s3 = aws_emulator.client("s3")
    bucket = unique_bucket(s3, "soak")
    checkpoints, job_log = tmp_path / "checkpoints", tmp_path / "job.log"
    with local_services() as services:
        bootstrap = services.broker.bootstrap_servers
        topics = catalog()
        raw, dead_letter = topics["market-data-raw"].name, topics.dead_letter("market-data").name
        load = LOADS["market-data-processed"]
        stop_loading, loaded = threading.Event(), []
        loading = threading.Thread(
            target=lambda: loaded.append(
                keep_loading(
                    lambda: loader_with_lake(load, bootstrap, services.postgres.dsn, s3, bucket, topics)[0],
                    stop_loading,
                    name="soak",
                    max_delay=5.0,
                )
            ),
            daemon=True,
        )
        job = harness.start_job(bootstrap, checkpoints, job_log)
        try:
            wait(
                lambda: latest_checkpoint(checkpoints) is not None, 180, "the job's first checkpoint", job_log
            )
            loading.start()
            config, options = load_sources()["synthetic"]
            total = int(RATE * SOAK_SECONDS)
            options = options.model_copy(update={"total": total, "rate": RATE})
            connector = Connector(config, options, bootstrap, CursorStore(tmp_path / "cursors"), topics)
            connecting = threading.Thread(target=lambda: asyncio.run(connector.run()), daemon=True)
            bad = MalformedFeed(bootstrap, raw)
            started = time.monotonic()
            connecting.start()
            bad.start()
            killed: list[str] = []
            for name, at in sorted(moments.items(), key=lambda item: item[1]):
                time.sleep(max(0.0, started + at - time.monotonic()))  # the soak's own clock
                job = outage(name, services, job, checkpoints, job_log)
                killed.append(f"{name} at {time.monotonic() - started:.0f}s")
            connecting.join(SOAK_SECONDS + 300)
            assert not connecting.is_alive(), "the connector did not finish its input"
            bad.finish()
            soaked = time.monotonic() - started
            BoundedJob(bootstrap, tmp_path).mark_end_of_input()  # the watermark passes the last ticks
            good = connector.producer.delivered_total
            drained(services.postgres.dsn, good, job_log)
            stop_loading.set()
            loading.join(DRAIN_TIMEOUT)
            assert not loading.is_alive(), "the loader did not read its topic to the end"
        finally:
            stop_loading.set()
            if job.poll() is None:
                harness.kill_job(job)
        letters = collections.Counter(
            dict(m.headers())["dlq.reason"].decode() for m in read_to_end(bootstrap, dead_letter, 60)
        )
        with psycopg.connect(services.postgres.dsn) as conn:
            stored = conn.execute(f"SELECT {KEY} FROM market_data_ts").fetchall()
    lake = lake_keys(s3, bucket)
    restarts = [reason.splitlines()[0][:90] for reason in loaded[0].failures] if loaded else []
    print(
        f"soak {soaked:.0f}s, kills: {', '.join(killed)}\n"
        f"  ticks acknowledged by the broker {good} of {total} generated "
        f"({connector.producer.dead_lettered_total} dead-lettered by the connector), "
        f"malformed {bad.delivered}\n"
        f"  market_data_ts {len(stored)} rows; lake {len(lake)} rows in {lake.objects} objects; "
        f"dead letters {dict(letters)}; loader restarts {len(restarts)}: {restarts}"
    )
    assert good == total and connector.producer.dead_lettered_total == 0
    assert len(stored) == good, f"{good} good ticks, {len(stored)} rows in market_data_ts"
    assert len(lake) == good, f"{good} good ticks, {len(lake)} rows in the lake"
    assert lake.distinct == good, f"{len(lake) - lake.distinct} lake rows written twice"
    assert set(lake) == set(stored), "the lake and the table hold different trades"
    assert sum(letters.values()) == bad.delivered, f"{bad.delivered} malformed sent, dead letters {letters}"
    assert "late" not in " ".join(letters), f"good ticks dead-lettered as late: {letters}"
    assert bad.delivered >= SOAK_SECONDS / MALFORMED_EVERY * 0.9


def outage(name: str, services, job, checkpoints: Path, job_log: Path):
    """SIGKILL one service, leave it down for DOWNTIME, start it again on its data; returns the job."""
    if name == "flink":
        harness.kill_job(job)
        time.sleep(DOWNTIME)  # the outage itself
        return harness.start_job(services.broker.bootstrap_servers, checkpoints, job_log)
    service = services.broker if name == "broker" else services.postgres
    service.kill()
    time.sleep(DOWNTIME)  # the outage itself
    service.restart()
    return job


class MalformedFeed:
    """One of the pipeline's malformed samples every MALFORMED_EVERY seconds; counts the acknowledged."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic, self.delivered = topic, 0
        self._producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _acknowledged(self, error, message) -> None:
        self.delivered += error is None

    def _feed(self) -> None:
        n = 0
        while not self._stop.wait(MALFORMED_EVERY):
            sample = MALFORMED[n % len(MALFORMED)]
            self._producer.produce(self.topic, value=sample, key=b"ACME", on_delivery=self._acknowledged)
            self._producer.poll(0)
            n += 1

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert self._producer.flush(120) == 0, "malformed samples not delivered"


class LakeRows(list):
    objects: int = 0

    @property
    def distinct(self) -> int:
        return len(set(self))


def lake_keys(s3, bucket: str) -> LakeRows:
    """(symbol, time, trade_key) of every row of every Parquet object in the bucket."""
    rows = LakeRows()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if not item["Key"].endswith(".parquet"):
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            table = pq.read_table(io.BytesIO(body), columns=["symbol", "time", "trade_key"])
            rows.extend(zip(*(table[c].to_pylist() for c in ("symbol", "time", "trade_key")), strict=True))
            rows.objects += 1
    return rows


def table_rows(dsn: str) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM market_data_ts").fetchone()[0]
    except psycopg.OperationalError:
        return -1


def drained(dsn: str, good: int, job_log: Path) -> None:
    """Until the table holds `good` rows, or stopped growing for SETTLED seconds (the counts then say what
    is missing); fails after DRAIN_TIMEOUT."""
    deadline, last, changed = time.monotonic() + DRAIN_TIMEOUT, -1, time.monotonic()
    while (rows := table_rows(dsn)) < good and time.monotonic() - changed < SETTLED:
        if rows != last:
            last, changed = rows, time.monotonic()
        if time.monotonic() > deadline:
            pytest.fail(
                f"{rows} of {good} ticks stored after {DRAIN_TIMEOUT:.0f}s:\n{job_log.read_text()[-3000:]}"
            )
        time.sleep(1.0)  # polling interval of a bounded wait


def wait(condition, timeout: float, what: str, job_log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f}s; the job's log:\n{job_log.read_text()[-3000:]}")
        time.sleep(1.0)  # polling interval of a bounded wait
