"""One bounded local run of the pipeline on running services, and what went through it.

Market data (`run_pipeline`): the synthetic connector -> Kafka market-data-raw (plus a few malformed
records) -> the market-data Flink job on the local mini-cluster -> market-data-processed (exactly-once,
read_committed) -> market_data_ts in PostgreSQL and Parquet objects in the processed-data bucket of the
local AWS emulator. News (`run_news`): the configured newsapi source against a local NewsAPI
(news_vendor.py) -> news-raw -> the news Flink job -> news-sentiment-stream -> news_sentiment_ts and gzip
JSON in the raw-data bucket's news/. Bad records end on their pipeline's dead-letter topic with their
reason. Each job runs until its output of all input is committed, then stops with a savepoint. The two
return their counts (`Outcome`, `NewsOutcome`: dead letters by reason, quality, latency, sentiment per
symbol); `wh pipeline` (app/local/pipeline_command.py) starts the services and prints the report.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PIPELINE = "market-data"
ENV = "local"
# What a broken producer might send; each must be dead-lettered with a reason, never loaded or dropped.
_TICK = b'"type": "tick", "symbol": "ACME", "volume": 1, "source": "demo"'
MALFORMED = (
    b'{"type": "tick", "symbol": "ACME", "price": 10.5',  # truncated JSON
    b"{" + _TICK + b', "timestamp": 1700000000000}',  # no price
    b"{" + _TICK + b', "timestamp": 1700000000000, "price": -3}',  # negative price
    b"{" + _TICK + b', "timestamp": 1700000000, "price": 3}',  # seconds, not milliseconds
    b"\xff\xfe\x00binary",  # not JSON at all
)


def say(message: str) -> None:
    print(f"[pipeline] {message}", file=sys.stderr, flush=True)


@dataclass
class Outcome:
    """What went in and what came out of one run."""

    produced: int = 0  # ticks the connector generated (delivered, or dead-lettered by the connector)
    malformed: int = 0
    produce_seconds: float = 0.0
    flink_seconds: float = 0.0  # first tick produced -> job stopped
    processed: int = 0  # records read from market-data-processed
    loaded: int = 0  # of those, valid rows handed to PostgreSQL (new or already there)
    inserted: int = 0
    dead_letters: collections.Counter = field(default_factory=collections.Counter)
    p95_latency: float = float("nan")
    table_rows: int = 0
    lake_keys: list[str] = field(default_factory=list)
    lake_rows: int = 0
    lake_quality: float = float("nan")  # the tick suite's score over the lake's batches, row-weighted

    @property
    def total(self) -> int:
        return self.produced + self.malformed

    @property
    def quality(self) -> float:
        """valid / total: every dead letter counts against it."""
        return self.loaded / self.total if self.total else 0.0

    def problems(self) -> list[str]:
        found = []
        dead = sum(self.dead_letters.values())
        if self.loaded + dead != self.total:
            found.append(f"{self.total} records in, {self.loaded} loaded + {dead} dead letters out")
        if self.table_rows != self.inserted:
            found.append(f"market_data_ts holds {self.table_rows} rows, the loader inserted {self.inserted}")
        if self.lake_rows != self.loaded:
            found.append(f"{self.lake_rows} rows written to the lake, {self.loaded} loaded")
        return found


@contextlib.contextmanager
def lake_bucket(endpoint: str | None) -> Iterator[tuple[object, str]]:
    """(S3 client, bucket) of the local processed-data bucket: on the emulator at `endpoint` (where
    `wh deploy local` made it) or on one started for this run, created by the data-lake stack's name.
    The raw-data bucket (for the news path's lake) is made as well, if missing."""
    from app.sinks import lake_layout
    from infra.emulator.aws import AwsEmulator, client, require_answering

    with contextlib.ExitStack() as stack:
        if endpoint:
            require_answering(endpoint)
        else:
            emulator = stack.enter_context(AwsEmulator())
            endpoint = emulator.endpoint
            say(f"AWS emulator (moto) on {endpoint} (pid {emulator.pid})")
        s3 = client(endpoint, "s3")
        for layout in (lake_layout.PROCESSED_MARKET_DATA.bucket, lake_layout.NEWS.bucket):
            _ensure(s3, lake_layout.bucket_name(ENV, layout), layout.encryption, endpoint)
        yield s3, lake_layout.bucket_name(ENV, lake_layout.PROCESSED_MARKET_DATA.bucket)


def _ensure(s3, bucket: str, encryption: str, endpoint: str) -> None:
    from app.sinks.lake import ensure_bucket

    if ensure_bucket(s3, bucket, encryption):
        say(f"created bucket {bucket} (no deployed one at {endpoint})")


def _produce(bootstrap: str, ticks: int, rate: float | None, suffix: str, state: Path) -> tuple[int, float]:
    """The synthetic connector's ticks, then the malformed samples, into market-data-raw; returns how many
    ticks it generated and at what rate."""
    from confluent_kafka import Producer

    from app.catalog import catalog
    from app.connectors.config import load_sources
    from app.connectors.cursor import CursorStore
    from app.connectors.runtime import Connector

    config, options = load_sources()["synthetic"]
    options = options.model_copy(update={"total": ticks, "rate": options.rate if rate is None else rate})
    topics = catalog().with_suffix(suffix)
    connector = Connector(config, options, bootstrap, CursorStore(state), topics, suffix)
    asyncio.run(connector.run())
    producer = Producer({"bootstrap.servers": bootstrap})
    for raw in MALFORMED:
        producer.produce(config.topic + suffix, value=raw, key=b"ACME")
    if producer.flush(30):
        raise RuntimeError(f"malformed samples not delivered to {config.topic + suffix}")
    return connector.producer.delivered_total + connector.producer.dead_lettered_total, options.rate


def run_pipeline(
    bootstrap: str,
    dsn: str,
    s3,
    bucket: str,
    workdir: Path,
    *,
    ticks: int,
    rate: float | None,
    timeout: float,
    topic_suffix: str = "",
    flink_overrides: dict[str, str] | None = None,
    log: Callable[[str], None] = say,
) -> Outcome:
    """One bounded run on running services; `topic_suffix` isolates it on a shared broker (tests);
    `flink_overrides` are more Flink keys for the job (its metric reporter)."""
    import psycopg

    from app.catalog import catalog
    from app.local.bounded_job import BoundedJob
    from app.metrics import PipelineMetrics
    from app.sinks.lake import LakeWriter
    from app.sinks.loads import LOADS
    from app.sinks.offsets import read_to_end
    from app.sinks.timescale import TableLoader

    topics = catalog().with_suffix(topic_suffix)
    dead_letter = topics.dead_letter(PIPELINE)
    outcome = Outcome(malformed=len(MALFORMED))
    load = LOADS["market-data-processed"]
    lake = LakeWriter(s3, bucket, load, metrics=PipelineMetrics(PIPELINE))
    loader = TableLoader(
        bootstrap,
        dsn,
        load,
        topics[load.topic + topic_suffix],
        dead_letter,
        group=load.group + topic_suffix,
        on_rows=lake.add,
        on_flush=lake.flush,
    )
    log("starting the market-data Flink job on the local mini-cluster ...")
    started = time.monotonic()
    with BoundedJob(bootstrap, workdir, topic_suffix=topic_suffix, overrides=flink_overrides) as job:
        log(f"Flink job {job.job_id} running in {time.monotonic() - started:.1f}s (pid {job.pid})")
        with _loading(loader, timeout, log) as stats:
            log(f"producing {ticks} synthetic ticks + {len(MALFORMED)} malformed records ...")
            started = time.monotonic()
            outcome.produced, rate = _produce(bootstrap, ticks, rate, topic_suffix, workdir / "cursors")
            outcome.produce_seconds = time.monotonic() - started
            limit = f"at most {rate:g}/s" if rate else "unthrottled"
            log(f"produced in {outcome.produce_seconds:.1f}s ({limit}); {stats.consumed} loaded yet")
            job.finish(timeout)
            outcome.flink_seconds = time.monotonic() - started
            log(f"job stopped with a savepoint {outcome.flink_seconds:.1f}s after the first tick")
    outcome.processed, outcome.loaded = stats.consumed, stats.inserted + stats.duplicates
    outcome.inserted, outcome.p95_latency = stats.inserted, stats.latency_percentile(95)
    outcome.lake_keys, outcome.lake_rows = lake.keys, lake.rows_written
    if lake.validations:
        checked = sum(v.rows for v in lake.validations)
        outcome.lake_quality = sum(v.score * v.rows for v in lake.validations) / checked
    letters = read_to_end(bootstrap, dead_letter.name, timeout)
    outcome.dead_letters.update(dict(m.headers())["dlq.reason"].decode() for m in letters)
    with psycopg.connect(dsn) as conn:
        outcome.table_rows = conn.execute("SELECT count(*) FROM market_data_ts").fetchone()[0]
    return outcome


@contextlib.contextmanager
def _loading(loader, timeout: float, log: Callable[[str], None]) -> Iterator[object]:
    """The loader in a thread for the body; after a clean exit it reads to the topic's end, else it stops."""
    stop, failure = threading.Event(), []
    last = [time.monotonic()]

    def progress(stats) -> None:
        if time.monotonic() - last[0] > 2:
            last[0] = time.monotonic()
            log(f"  {stats.consumed} processed records loaded, {stats.inserted} rows inserted")

    def load() -> None:
        try:
            loader.run(stop, progress)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=load, name="tick-loader", daemon=True)
    thread.start()
    try:
        yield loader.stats
        stop.set()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the loader is not at the end of {loader.topic.name} after {timeout:.0f}s")
    finally:
        loader.cancel()  # a no-op once it has returned
        thread.join(30)
    if failure:
        raise failure[0]


@dataclass
class NewsOutcome:
    """What went in and out of the news path of one run."""

    published: int = 0  # articles the local vendor served
    delivered: int = 0  # of those, on news-raw
    scored: int = 0  # records read from news-sentiment-stream
    loaded: int = 0  # of those, valid rows handed to PostgreSQL (new or already there)
    inserted: int = 0
    dead_letters: collections.Counter = field(default_factory=collections.Counter)
    table_rows: int = 0
    lake_keys: list[str] = field(default_factory=list)
    lake_rows: int = 0
    seconds: float = 0.0
    # symbol -> (articles, mean sentiment, positive, negative), from news_sentiment_ts
    by_symbol: dict[str, tuple[int, float, int, int]] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        dead = sum(self.dead_letters.values())
        if self.delivered + dead != self.published or self.loaded != self.delivered:
            found.append(
                f"news: {self.published} articles in, {self.delivered} on news-raw, {self.loaded} scored and"
                f" loaded + {dead} dead letters out"
            )
        if self.table_rows != self.inserted:
            found.append(
                f"news_sentiment_ts holds {self.table_rows} rows, the loader inserted {self.inserted}"
            )
        if self.lake_rows != self.loaded:
            found.append(f"{self.lake_rows} articles written to the news lake, {self.loaded} loaded")
        return found


def run_news(
    bootstrap: str,
    dsn: str,
    s3,
    workdir: Path,
    *,
    timeout: float,
    topic_suffix: str = "",
    flink_overrides: dict[str, str] | None = None,
    log: Callable[[str], None] = say,
) -> NewsOutcome:
    """The news path of one bounded run on running services (the database migrated, the buckets made);
    `flink_overrides` as run_pipeline's."""
    import psycopg

    from app.catalog import catalog
    from app.local.bounded_job import BoundedJob
    from app.sinks import lake_layout
    from app.sinks.loads import LOADS
    from app.sinks.offsets import read_to_end
    from app.sinks.timescale import loader_with_lake

    topics = catalog().with_suffix(topic_suffix)
    load = LOADS["news-sentiment-stream"]
    dead_letter = topics.dead_letter("news")
    bucket = lake_layout.bucket_name(ENV, load.dataset.bucket)
    loader, lake = loader_with_lake(load, bootstrap, dsn, s3, bucket, topics, topic_suffix)
    outcome = NewsOutcome()
    log("starting the news Flink job on the local mini-cluster ...")
    started = time.monotonic()
    with BoundedJob(
        bootstrap, workdir, job="news", topic_suffix=topic_suffix, overrides=flink_overrides
    ) as job:
        log(f"Flink job {job.job_id} running in {time.monotonic() - started:.1f}s (pid {job.pid})")
        with _loading(loader, timeout, log) as stats:
            outcome.published, outcome.delivered = asyncio.run(
                _news(bootstrap, topic_suffix, workdir / "news-cursors", timeout)
            )
            log(
                f"the newsapi connector fetched {outcome.published} articles, {outcome.delivered} to news-raw"
            )
            job.finish(timeout)
    outcome.seconds = time.monotonic() - started
    outcome.scored, outcome.loaded = stats.consumed, stats.inserted + stats.duplicates
    outcome.inserted, outcome.lake_keys, outcome.lake_rows = stats.inserted, lake.keys, lake.rows_written
    letters = read_to_end(bootstrap, dead_letter.name, timeout)
    outcome.dead_letters.update(dict(m.headers())["dlq.reason"].decode() for m in letters)
    with psycopg.connect(dsn) as conn:
        outcome.table_rows = conn.execute("SELECT count(*) FROM news_sentiment_ts").fetchone()[0]
        rows = conn.execute(
            "SELECT symbol, count(*), avg(sentiment_score), count(*) FILTER (WHERE sentiment_category ="
            " 'positive'), count(*) FILTER (WHERE sentiment_category = 'negative')"
            " FROM news_sentiment_ts, unnest(symbols) AS symbol GROUP BY symbol ORDER BY symbol"
        ).fetchall()
    outcome.by_symbol = {s: (n, float(mean), pos, neg) for s, n, mean, pos, neg in rows}
    return outcome


async def _news(bootstrap: str, suffix: str, state: Path, timeout: float) -> tuple[int, int]:
    """The configured newsapi source, pointed at the local vendor, until it delivered all it was served;
    returns (articles served, delivered to news-raw)."""
    import os

    from app.catalog import catalog
    from app.connectors.config import load_sources
    from app.connectors.cursor import CursorStore
    from app.connectors.runtime import Connector
    from app.local.news_vendor import API_KEY, LocalNewsVendor

    config, options = load_sources()["newsapi"]
    async with LocalNewsVendor() as vendor:
        previous = os.environ.get(config.auth.env)
        os.environ[config.auth.env] = API_KEY  # the local vendor's key, for this run only
        try:
            local = options.model_copy(update={"url": vendor.url, "schedule": "200ms"})
            topics = catalog().with_suffix(suffix)
            connector = Connector(config, local, bootstrap, CursorStore(state), topics, suffix)
        finally:
            if previous is None:
                del os.environ[config.auth.env]
            else:
                os.environ[config.auth.env] = previous
        task = asyncio.create_task(connector.run())
        produced, deadline = connector.producer, time.monotonic() + timeout
        try:
            while produced.delivered_total + produced.dead_lettered_total < len(vendor.articles):
                if task.done() or time.monotonic() > deadline:
                    raise TimeoutError(f"the newsapi connector delivered {produced.delivered_total} articles")
                await asyncio.sleep(0.1)
        finally:
            connector.stop()
            await task
        return len(vendor.articles), produced.delivered_total
