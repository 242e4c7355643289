"""Session fixtures of the pipeline tests: the local monitoring (Prometheus + Pushgateway scraping this test
process and the Flink mini-cluster) and one bounded pipeline run under it, shared by the pipeline, dashboard
and chart tests."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator

import orjson
import pandas as pd
import psycopg
import pyarrow.parquet as pq
import pytest

from app import migrations
from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.local import pipeline
from app.local.bounded_job import END_MARKER_SYMBOL
from app.local.monitoring import LocalMonitoring, local_monitoring
from app.sinks.offsets import read_to_end
from infra.emulator.aws import AwsEmulator
from infra.process import pid_alive
from tests.conftest import unique_name

PIPELINE_TICKS = 3000


def market_data_topics(suffix: str) -> Catalog:
    names = ("market-data-raw", "market-data-processed", "market-data-dead-letter")
    return Catalog([catalog()[name] for name in names]).with_suffix(suffix)


def table_rows(dsn: str) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM market_data_ts")
        columns = [c.name for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)


@pytest.fixture(scope="session")
def monitoring() -> Iterator[LocalMonitoring]:
    """Prometheus (rules of charts/waardhaven-monitoring loaded) scraping this process's /metrics and a
    Pushgateway that a Flink job given `monitoring.flink_reporter(job)` pushes to."""
    with local_monitoring() as started:
        pids = [started.prometheus.pid, started.pushgateway.pid]
        yield started
    assert not any(pid_alive(pid) for pid in pids), f"Prometheus/Pushgateway pids {pids} still running"


@pytest.fixture(scope="session")
def pipeline_run(kafka_broker, postgres, monitoring, tmp_path_factory) -> dict:
    """One bounded pipeline run on the session's broker and database, an emulator of its own, and the
    session's monitoring: what went in, what came out, and the run's time span for Prometheus queries."""
    suffix = "." + unique_name("pipe")
    topics = market_data_topics(suffix)
    ensure_topics(kafka_broker.bootstrap_servers, topics)
    dsn = postgres.create_database(unique_name("pipe"))
    migrations.apply(dsn)
    logged: list[str] = []
    started = time.time()
    with AwsEmulator() as aws:
        pids = [aws.pid]
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="processed")
        outcome = pipeline.run_pipeline(
            kafka_broker.bootstrap_servers,
            dsn,
            s3,
            "processed",
            tmp_path_factory.mktemp("pipeline"),
            ticks=PIPELINE_TICKS,
            rate=1000,  # the job keeps up on a busy 2-core machine: no tick is late
            timeout=180,
            topic_suffix=suffix,
            flink_overrides=monitoring.flink_reporter("market-data"),
            log=logged.append,
        )
        objects = {}
        for item in s3.list_objects_v2(Bucket="processed").get("Contents", []):
            body = s3.get_object(Bucket="processed", Key=item["Key"])["Body"].read()
            objects[item["Key"]] = pq.read_table(io.BytesIO(body)).to_pandas()
    pids += [int(pid) for pid in re.findall(r"\(pid (\d+)\)", "\n".join(logged))]
    raw = read_to_end(kafka_broker.bootstrap_servers, topics["market-data-raw" + suffix].name)
    ticks = [orjson.loads(m.value()) for m in raw if m.value() not in pipeline.MALFORMED]
    return {
        "outcome": outcome,
        "ticks": pd.DataFrame([t for t in ticks if t["symbol"] != END_MARKER_SYMBOL]),
        "raw": raw,
        "dead": read_to_end(kafka_broker.bootstrap_servers, topics.dead_letter("market-data").name),
        "table": table_rows(dsn),
        "dsn": dsn,
        "objects": objects,
        "pids": pids,
        "started": started,
        "finished": time.time(),
    }
