"""The loader's test setup on the session's broker and database: processed records as the Flink job writes
them, a database with market-data topics and a loader group of its own, and what the table and the lake
hold."""

from __future__ import annotations

import collections
import io
import threading
import time
from datetime import UTC, datetime

import orjson
import psycopg
import pyarrow.parquet as pq
from confluent_kafka import Producer

from app import migrations
from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.sinks.loads import LOADS
from app.sinks.timescale import TableLoader
from tests.conftest import unique_name

HOUR_MS = 3_600_000
START_MS = int(datetime(2026, 1, 5, 14, tzinfo=UTC).timestamp() * 1000)


def processed(symbol: str, timestamp: int, price: float, volume: int = 100, **fields) -> dict:
    """A market-data-processed record as the Flink job writes it (ProcessedJson)."""
    tick = {"symbol": symbol, "timestamp": timestamp, "price": price, "volume": volume, "source": "test"}
    return tick | {"processed_at": datetime.now(UTC).isoformat()} | fields


def trades(first: int, count: int) -> list[dict]:
    """Trades `first` .. `first + count - 1` (up to 60,000): ten symbols, every other one in the next event
    hour, each (symbol, time) once."""
    return [
        processed(f"S{i % 10}", START_MS + i % 2 * HOUR_MS + i // 2 * 101, 10.0 + i % 7, trade_id=f"T{i}")
        for i in range(first, first + count)
    ]


def topics(suffix: str) -> Catalog:
    names = ("market-data-processed", "market-data-dead-letter")
    return Catalog([catalog()[name] for name in names]).with_suffix(suffix)


def loader(bootstrap: str, dsn: str, suffix: str, group: str, **options) -> TableLoader:
    """The loader of the market-data topics with `suffix`, in consumer group `group`."""
    own = topics(suffix)
    processed, dead = own["market-data-processed" + suffix], own.dead_letter("market-data")
    return TableLoader(
        bootstrap, dsn, LOADS["market-data-processed"], processed, dead, group=group, **options
    )


class Loading:
    """A database, market-data topics of their own and a loader group: `load(records)` produces them and
    runs the loader to the topic's end."""

    def __init__(self, kafka_broker, postgres) -> None:
        self.bootstrap = kafka_broker.bootstrap_servers
        self.dsn = postgres.create_database(unique_name("sink"))
        migrations.apply(self.dsn)
        self.suffix = "." + unique_name("t")
        self.topics = topics(self.suffix)
        ensure_topics(self.bootstrap, self.topics)
        self.topic = self.topics["market-data-processed" + self.suffix]
        self.group = unique_name("g")

    def produce(self, records: list[dict], *, spread: bool = False) -> None:
        """Keyed by symbol, or with `spread` round the topic's partitions in turn."""
        producer = Producer({"bootstrap.servers": self.bootstrap})
        for n, record in enumerate(records):
            where = {"partition": n % self.topic.partitions} if spread else {}
            value, key = orjson.dumps(record), record["symbol"].encode()
            producer.produce(self.topic.name, value=value, key=key, **where)
        assert producer.flush(30) == 0

    def loader(self, **options) -> TableLoader:
        return loader(self.bootstrap, self.dsn, self.suffix, self.group, **options)

    def load(self, records: list[dict], **options):
        self.produce(records)
        stop = threading.Event()
        stop.set()  # read what is there, then return
        return self.loader(**options).run(stop)

    def rows(self) -> list[dict]:
        with psycopg.connect(self.dsn) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute("SELECT * FROM market_data_ts").fetchall()


def lake_rows(s3, bucket: str) -> collections.Counter:
    """(symbol, event ms) -> how many times the lake holds it; every object must read as whole Parquet."""
    held = collections.Counter()
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
        times = (int(t.timestamp() * 1000) for t in table["time"].to_pylist())
        held.update(zip(table["symbol"].to_pylist(), times, strict=True))
    return held


def table_rows(dsn: str) -> collections.Counter:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT symbol, time FROM market_data_ts").fetchall()
    return collections.Counter((symbol, int(when.timestamp() * 1000)) for symbol, when in rows)


def once_each(records: list[dict]) -> collections.Counter:
    return collections.Counter((r["symbol"], r["timestamp"]) for r in records)


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout:.0f}s")
        time.sleep(0.005)
