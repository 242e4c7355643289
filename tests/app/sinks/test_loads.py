"""Every topic ends in storage: each load of app/sinks/loads.py, on the session's broker and PostgreSQL and an
AWS emulator, writes its table and its lake dataset with the market-data loader's guarantees: a replayed
record inserts nothing and is counted, a bad one goes to the dead-letter topic with its reason, offsets are
committed after the lake write, and lake objects sit in their dataset's partitions, named by Kafka partition
and first offset."""

from __future__ import annotations

import gzip
import io
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import psycopg
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer, Producer

from app import migrations
from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.cli import main
from app.flink import market_data, news
from app.schemas.tables import TABLES, utc
from app.sinks.lake import LakeWriter
from app.sinks.loads import LOADS
from app.sinks.offsets import committed, read_to_end
from app.sinks.timescale import TableLoader
from infra.emulator.aws import CREDENTIALS, REGION, AwsEmulator
from tests.app.sinks.loading import processed
from tests.conftest import unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
T0 = int(datetime(2026, 1, 31, 23, 30, tzinfo=UTC).timestamp() * 1000)  # an hour, a day, a month apart:
TIMES = (T0, T0 + 3_600_000, T0 + 40 * 86_400_000)  # every dataset's partitions split them somewhere


def _article(ms: int, n: int) -> dict:
    return {
        "id": str(uuid.UUID(int=n)),
        "title": f"Story {n}",
        "content": "",
        "url": None,
        "source": "test",
        "published_at": ms,
        "sentiment_score": 0.5,
        "sentiment_category": "positive",
        "symbols_mentioned": ["AAPL", "MSFT"],
        "categories": ["earnings"],
        "processed_at": ms,
        "pipeline_version": "1.0.0",
    }


def _trade(ms: int, n: int) -> dict:
    return {
        "filing_id": f"0001214156-26-{n:06d}:1",
        "symbol": "MSFT",
        "timestamp": ms,
        "filed_at": ms + 86_400_000,
        "insider_name": "Jane Doe",
        "insider_title": "Chief Financial Officer",
        "transaction_type": "sell",
        "shares": 100 * n,
        "price": 400.5,
        "total_value": 40050.0 * n,
        "source": "test",
    }


def _observation(ms: int, n: int) -> dict:
    return {
        "series_id": f"SERIES{n}",
        "timestamp": ms,
        "value": 1.5 * n,
        "unit": "percent",
        "frequency": "monthly",
        "source": "test",
    }


def _post(ms: int, n: int) -> dict:
    return {
        "id": f"t3_{n}",
        "platform": "reddit",
        "community": "stocks",
        "author": "u",
        "title": "$TSLA?",
        "text": "thoughts",
        "url": f"/r/stocks/{n}",
        "created_at": ms,
        "score": -n,
        "symbols_mentioned": ["TSLA"],
        "source": "test",
    }


def _metric(ms: int, n: int) -> dict:
    return {
        "symbol": "IBM",
        "metric": f"eps_{n}",
        "timestamp": ms,
        "value": 8.1,
        "period": "2026Q1",
        "unit": None,
        "source": "test",
    }


def _tick(ms: int, n: int) -> dict:
    return processed("ACME", ms, 10.0 + n, trade_id=f"T{n}")


# topic -> (a good record, a change that breaks one, the reason's start)
SAMPLES = {
    "market-data-processed": (_tick, {"price": -1.0}, "price"),
    "news-sentiment-stream": (_article, {"sentiment_score": 2.0}, "sentiment_score"),
    "insider-trading-events": (_trade, {"transaction_type": "steal"}, "transaction_type"),
    "economic-indicators": (_observation, {"value": "n/a"}, "value"),
    "social-raw": (_post, {"platform": "myspace"}, "platform"),
    "company-metrics": (_metric, {"metric": "EPS!"}, "metric"),
}


def test_every_topic_is_stored_by_a_load_or_read_by_a_stream_job():
    streamed = {market_data.topics()["raw_topic"], news.topics()["raw_topic"]}
    stored = {topic.name for topic in catalog() if topic.kind != "dead-letter"} - streamed
    assert set(LOADS) == stored == set(SAMPLES)
    for load in LOADS.values():
        assert load.table.schema == catalog()[load.topic].schema_name, load.topic
    assert {load.table for load in LOADS.values()} == set(TABLES)


@pytest.fixture(scope="module")
def dsn(postgres) -> str:
    dsn = postgres.create_database(unique_name("loads"))
    migrations.apply(dsn)
    return dsn


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsEmulator]:
    with AwsEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def lake(aws) -> tuple[object, str]:
    s3, bucket = aws.client("s3"), unique_name("lake").replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


def test_table_columns_are_the_rows_the_sinks_write(dsn):
    with psycopg.connect(dsn) as conn:
        for table in TABLES:
            cur = conn.execute(f"SELECT * FROM {table.name} LIMIT 0")
            assert tuple(column.name for column in cur.description) == table.column_names, table.name


@pytest.mark.parametrize("topic_name", sorted(LOADS))
def test_load_writes_its_table_and_lake_once_and_dead_letters_the_bad(topic_name, kafka_broker, dsn, lake):
    load, (make, breaks, reason) = LOADS[topic_name], SAMPLES[topic_name]
    s3, bucket = lake
    bootstrap = kafka_broker.bootstrap_servers
    suffix = "." + unique_name("l")
    topic = catalog()[topic_name]
    topics = Catalog([topic, catalog().dead_letter(topic.pipeline)]).with_suffix(suffix)
    ensure_topics(bootstrap, topics)
    good = [make(ms, n) for n, ms in enumerate(TIMES, 1)]
    values = [orjson.dumps(record) for record in [*good, {**good[0], **breaks}, good[0]]]  # + a replay
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic.name + suffix, value=value, key=b"k")  # one partition: offsets in order
    assert producer.flush(30) == 0
    with psycopg.connect(dsn) as conn:
        before = conn.execute(f"SELECT count(*) FROM {load.table.name}").fetchone()[0]

    writer = LakeWriter(s3, bucket, load)
    group = unique_name("g")
    stop = threading.Event()
    stop.set()  # read what is there, then return
    stats = TableLoader(
        bootstrap,
        dsn,
        load,
        topics[topic_name + suffix],
        topics.dead_letter(topic.pipeline),
        group=group,
        on_rows=writer.add,
        on_flush=writer.flush,
    ).run(stop)

    assert (stats.consumed, stats.inserted, stats.duplicates, stats.dead_lettered) == (5, 3, 1, 1)
    with psycopg.connect(dsn) as conn:
        assert conn.execute(f"SELECT count(*) FROM {load.table.name}").fetchone()[0] == before + 3
        first = conn.execute(f"SELECT * FROM {load.table.name} WHERE time = %s", (utc(TIMES[0]),)).fetchall()
    assert len(first) == 1 and first[0][0] == utc(TIMES[0])
    letters = [
        orjson.loads(m.value()) for m in read_to_end(bootstrap, topics.dead_letter(topic.pipeline).name)
    ]
    assert [letter["reason"].split(":")[0] for letter in letters] == [reason]
    assert letters[0]["source"] == load.group
    assert sum(max(offset, 0) for offset in _committed(bootstrap, group, topic.name + suffix)) == len(values)

    # the lake: every stored message once, in its dataset's partition, named by partition and first offset
    start = [load.dataset.partition_start(utc(ms)) for ms in (*TIMES, TIMES[0])]
    prefixes = {load.dataset.key(at, "") for at in start}
    assert {key.rsplit("/", 1)[0] + "/" for key in writer.keys} == prefixes
    assert all(key.rsplit("/", 1)[1].startswith(f"{load.stem}-p") for key in writer.keys)
    stored = []
    for key in writer.keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if load.dataset.format == "json":
            stored += [orjson.loads(line) for line in gzip.decompress(body).splitlines()]
        else:
            table = pq.read_table(io.BytesIO(body))
            assert tuple(table.column_names) == load.table.column_names
            stored += table.to_pylist()
    assert len(stored) == writer.rows_written == 4  # the three and the replay: every valid message consumed
    if load.dataset.format == "json":
        assert sorted(stored, key=orjson.dumps) == sorted([*good, good[0]], key=orjson.dumps)


def _committed(bootstrap: str, group: str, topic: str) -> list[int]:
    """The group's committed offsets: the loader commits only after the lake write."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return list(committed(consumer, topic).values())
    finally:
        consumer.close()


def test_wh_load_stores_a_topic_until_caught_up(kafka_broker, dsn, aws, capsys, monkeypatch):
    for name, value in {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION}.items():  # the default credential chain
        monkeypatch.setenv(name, value)
    bootstrap, suffix = kafka_broker.bootstrap_servers, "." + unique_name("cmd")
    topic = catalog()["economic-indicators"]
    ensure_topics(bootstrap, Catalog([topic, catalog().dead_letter(topic.pipeline)]).with_suffix(suffix))
    producer = Producer({"bootstrap.servers": bootstrap})
    for n in (7, 8):
        producer.produce(topic.name + suffix, value=orjson.dumps(_observation(T0, n)), key=b"k")
    assert producer.flush(30) == 0
    with AwsEmulator() as aws:
        aws.client("s3").create_bucket(Bucket="waardhaven-local-raw-data")  # the local raw-data bucket
        args = ["load", topic.name, "--until-caught-up", "--topic-suffix", suffix, "--dsn", dsn]
        args += ["--bootstrap-servers", bootstrap, "--aws-endpoint", aws.endpoint]
        assert main(args) == 0
        keys = [
            o["Key"] for o in aws.client("s3").list_objects_v2(Bucket="waardhaven-local-raw-data")["Contents"]
        ]
    assert (
        "economic-indicators: 2 rows inserted (0 already there), 0 dead-lettered" in capsys.readouterr().out
    )
    assert keys == [f"economic-indicators/year=2026/month=01/observations-p{0:04d}-{0:019d}.parquet"] or all(
        key.startswith("economic-indicators/year=2026/month=01/observations-p") for key in keys
    )
    with psycopg.connect(dsn) as conn:
        found = conn.execute(
            "SELECT series_id FROM economic_indicators_ts WHERE series_id IN ('SERIES7', 'SERIES8')"
        ).fetchall()
    assert sorted(found) == [("SERIES7",), ("SERIES8",)]


def test_wh_load_refuses_an_unknown_topic_and_a_missing_database(monkeypatch, capsys):
    monkeypatch.delenv("WH_DATABASE_DSN", raising=False)
    assert main(["load", "market-data-raw", "--dsn", "x"]) == 2
    assert "no load for market-data-raw" in capsys.readouterr().err
    assert main(["load"]) == 2
    assert "no database given" in capsys.readouterr().err
