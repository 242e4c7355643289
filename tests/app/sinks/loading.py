"""The loader's test setup on the session's broker and database: processed records as the Flink job writes
them, and a database with market-data topics and a loader group of its own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import orjson
import psycopg
from confluent_kafka import Producer

from app import migrations
from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.sinks.loads import LOADS
from app.sinks.timescale import TableLoader
from tests.conftest import unique_name


def processed(symbol: str, timestamp: int, price: float, volume: int = 100, **fields) -> dict:
    """A market-data-processed record as the Flink job writes it (ProcessedJson)."""
    tick = {"symbol": symbol, "timestamp": timestamp, "price": price, "volume": volume, "source": "test"}
    return tick | {"processed_at": datetime.now(UTC).isoformat()} | fields


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

    def produce(self, records: list[dict]) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap})
        for record in records:
            producer.produce(self.topic.name, value=orjson.dumps(record), key=record["symbol"].encode())
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
