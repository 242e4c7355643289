"""Run the market-data pipeline locally, end to end on real services, then print what went through.

The synthetic connector -> Kafka market-data-raw (plus a few malformed records) -> the market-data Flink
job on the local mini-cluster -> market-data-processed (exactly-once, read_committed) -> market_data_ts in
PostgreSQL and Parquet objects in the processed-data bucket of the local AWS emulator. Bad records end on
the dead-letter topic with their reason. The job runs until its output of all input is committed, then
stops with a savepoint. Prints counts, dead letters by reason, the data quality score and end-to-end latency
against the brief's targets. Everything it starts is stopped by its pid when it ends, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PIPELINE = "market-data"
ENV = "local"
QUALITY_TARGET = 0.99  # the brief: data quality score > 99%
LATENCY_TARGET = 5.0  # the brief: processing latency p95 < 5 s
# What a broken producer might send; each must be dead-lettered with a reason, never loaded or dropped.
_TICK = b'"type": "tick", "symbol": "ACME", "volume": 1, "source": "demo"'
MALFORMED = (
    b'{"type": "tick", "symbol": "ACME", "price": 10.5',  # truncated JSON
    b"{" + _TICK + b', "timestamp": 1700000000000}',  # no price
    b"{" + _TICK + b', "timestamp": 1700000000000, "price": -3}',  # negative price
    b"{" + _TICK + b', "timestamp": 1700000000, "price": 3}',  # seconds, not milliseconds
    b"\xff\xfe\x00binary",  # not JSON at all
)


def _at_least(minimum: float, kind: type = int) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ticks", type=_at_least(1), default=10_000, help="synthetic ticks to push (default 10000)"
    )
    parser.add_argument(
        "--rate",
        type=_at_least(0, float),
        default=None,
        help="ticks per second, 0 = unthrottled (default: the synthetic source's rate in sources.yaml)",
    )
    parser.add_argument(
        "--timeout",
        type=_at_least(1, float),
        default=180,
        help="seconds allowed for each stage (default 180)",
    )
    parser.add_argument("--metrics-port", type=int, default=0, help="serve /metrics here (0 = off)")
    parser.add_argument(
        "--aws-endpoint",
        default=os.environ.get("TF_VAR_aws_endpoint"),
        help="a running AWS emulator (default $TF_VAR_aws_endpoint, else one is started for the run)",
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
    `wh deploy local` made it) or on one started for this run, created by the data-lake stack's name."""
    from app.local.aws_emulator import AwsEmulator, client, require_answering
    from app.local.lake_writer import ensure_bucket
    from infra import lake_layout

    bucket = lake_layout.bucket_name(ENV, lake_layout.PROCESSED_MARKET_DATA.bucket)
    with contextlib.ExitStack() as stack:
        if endpoint:
            require_answering(endpoint)
        else:
            emulator = stack.enter_context(AwsEmulator())
            endpoint = emulator.endpoint
            say(f"AWS emulator (moto) on {endpoint} (pid {emulator.pid})")
        s3 = client(endpoint, "s3")
        if ensure_bucket(s3, bucket, lake_layout.PROCESSED_MARKET_DATA.bucket.encryption):
            say(f"created bucket {bucket} (no deployed one at {endpoint})")
        yield s3, bucket


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
    return connector.sink.delivered_total + connector.sink.dead_lettered_total, options.rate


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
    log: Callable[[str], None] = say,
) -> Outcome:
    """One bounded run on running services; `topic_suffix` isolates it on a shared broker (tests)."""
    import psycopg

    from app.catalog import catalog
    from app.local.bounded_job import BoundedJob
    from app.local.lake_writer import LakeWriter
    from app.local.tick_loader import LOADER_NAME, TickLoader
    from app.local.topic_reader import read_to_end
    from app.metrics import PipelineMetrics
    from infra.lake_layout import PROCESSED_MARKET_DATA

    topics = catalog().with_suffix(topic_suffix)
    dead_letter = topics.dead_letter(PIPELINE)
    outcome = Outcome(malformed=len(MALFORMED))
    lake = LakeWriter(s3, bucket)
    loader = TickLoader(
        bootstrap,
        dsn,
        topics["market-data-processed" + topic_suffix],
        dead_letter,
        group=LOADER_NAME + topic_suffix,
        on_rows=lake.add,
        on_flush=lake.flush,
    )
    log("starting the market-data Flink job on the local mini-cluster ...")
    started = time.monotonic()
    with BoundedJob(bootstrap, workdir, topic_suffix=topic_suffix) as job:
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
    letters = read_to_end(bootstrap, dead_letter.name, timeout)
    outcome.dead_letters.update(dict(m.headers())["dlq.reason"].decode() for m in letters)
    with psycopg.connect(dsn) as conn:
        outcome.table_rows = conn.execute("SELECT count(*) FROM market_data_ts").fetchone()[0]
    PipelineMetrics(PIPELINE).quality(PROCESSED_MARKET_DATA.name, outcome.quality)
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


def _print_summary(outcome: Outcome, bucket: str, elapsed: float) -> None:
    rate = outcome.produced / outcome.produce_seconds if outcome.produce_seconds else 0.0
    lines = [
        ("produced (synthetic connector)", outcome.produced, f"{outcome.produce_seconds:.1f}s, {rate:.0f}/s"),
        ("malformed (injected)", outcome.malformed, ""),
        ("processed (Flink, committed)", outcome.processed, f"job done at {outcome.flink_seconds:.1f}s"),
        ("rows loaded into PostgreSQL", outcome.loaded, f"{outcome.inserted} new"),
        ("rows in market_data_ts", outcome.table_rows, ""),
        ("dead letters", sum(outcome.dead_letters.values()), ""),
        *((f"  {reason}", count, "") for reason, count in sorted(outcome.dead_letters.items())),
        ("Parquet objects (snappy)", len(outcome.lake_keys), f"{outcome.lake_rows} rows in s3://{bucket}/"),
    ]
    for label, count, note in lines:
        print(f"{label:<34}{count:>10}  {note}".rstrip())
    for key in outcome.lake_keys:
        print(f"  {key}")
    quality_ok = outcome.quality > QUALITY_TARGET
    latency_ok = outcome.p95_latency < LATENCY_TARGET
    print(
        f"{'data quality (valid / total)':<34}{outcome.quality:>10.5f}  target > {QUALITY_TARGET:g}: "
        f"{'PASS' if quality_ok else 'FAIL'}"
    )
    print(
        f"{'p95 end-to-end latency (s)':<34}{outcome.p95_latency:>10.2f}  event time -> row in PostgreSQL, "
        f"target < {LATENCY_TARGET:g} s: {'PASS' if latency_ok else 'FAIL'}"
    )
    print(f"{'total elapsed (s)':<34}{elapsed:>10.1f}")


@contextlib.contextmanager
def _metrics_served(port: int) -> Iterator[None]:
    """/metrics on 127.0.0.1:`port` for the length of the run (0: not served)."""
    from app import metrics

    if not port:
        yield
        return
    server, _ = metrics.serve(port)
    say(f"metrics on http://127.0.0.1:{port}/metrics")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from app.local.process import ServiceError
    from app.local.services import local_services
    from app.migrations import MigrationError
    from app.yamlconfig import ConfigError

    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    started = time.monotonic()
    try:
        with (
            _metrics_served(args.metrics_port),
            local_services(say) as services,
            lake_bucket(args.aws_endpoint) as (s3, bucket),
            tempfile.TemporaryDirectory(prefix="wh-pipeline-") as workdir,
        ):
            outcome = run_pipeline(
                services.broker.bootstrap_servers,
                services.postgres.dsn,
                s3,
                bucket,
                Path(workdir),
                ticks=args.ticks,
                rate=args.rate,
                timeout=args.timeout,
            )
            _print_summary(outcome, bucket, time.monotonic() - started)
            problems = outcome.problems()
            for problem in problems:
                print(f"wh pipeline: {problem}", file=sys.stderr)
            return 1 if problems else 0
    except (ServiceError, ConfigError, MigrationError, TimeoutError, OSError) as exc:
        print(f"wh pipeline: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
