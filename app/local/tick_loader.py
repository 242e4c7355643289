"""The local run's trivial sink: market-data-raw -> market_data_ts, bad records to the dead-letter topic.

Each message is parsed and validated against the topic's schema; a failure goes to the pipeline's
dead-letter topic with its reason and is counted. Ticks are inserted in batches (`insert_ticks`), and
consumer offsets are committed only after the database commit: at-least-once delivery, made idempotent
by the (time, symbol) key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app import schemas
from app.catalog import Topic
from app.metrics import DEAD_LETTER, SUCCESS, PipelineMetrics
from app.schemas.deadletter import envelope

COLUMNS = ("time", "symbol", "price", "volume", "bid", "ask", "bid_size", "ask_size", "data_source")
LOADER_NAME = "tick-loader"


@dataclass
class LoadStats:
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    skipped: int = 0  # valid records that are not ticks (quotes, bars): not this table's


def tick_row(tick: schemas.PriceTick) -> tuple:
    when = datetime.fromtimestamp(tick.timestamp / 1000, UTC)
    quote = (tick.bid, tick.ask, tick.bid_size, tick.ask_size)
    return (when, tick.symbol, tick.price, tick.volume, *quote, tick.source)


def insert_ticks(conn, rows: list[tuple]) -> int:
    """Insert `tick_row`s into market_data_ts and commit; returns how many were new (not key duplicates).

    COPY into a session temp table, then one INSERT .. ON CONFLICT DO NOTHING: a plain COPY would abort
    the whole batch on the first duplicate key.
    """
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tick_staging (LIKE market_data_ts INCLUDING DEFAULTS)"
            " ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY tick_staging ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("INSERT INTO market_data_ts SELECT * FROM tick_staging ON CONFLICT DO NOTHING")
        inserted = cur.rowcount
    conn.commit()
    return inserted


class TickLoader:
    def __init__(
        self,
        bootstrap_servers: str,
        dsn: str,
        topic: Topic,
        dead_letter: Topic,
        *,
        group: str = LOADER_NAME,
        batch_size: int = 2000,
    ) -> None:
        self.bootstrap_servers, self.dsn = bootstrap_servers, dsn
        self.topic, self.dead_letter = topic, dead_letter
        self.group, self.batch_size = group, batch_size
        self.metrics = PipelineMetrics(topic.pipeline)
        self.stats = LoadStats()

    def run(
        self, expected: int, timeout: float, progress: Callable[[LoadStats], None] | None = None
    ) -> LoadStats:
        """Consume until `expected` messages are handled or `timeout` seconds pass."""
        import psycopg
        from confluent_kafka import Consumer, Producer

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": self.group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        dead_letters = Producer({"bootstrap.servers": self.bootstrap_servers, "enable.idempotence": True})
        deadline = time.monotonic() + timeout
        try:
            with psycopg.connect(self.dsn) as conn:
                consumer.subscribe([self.topic.name])
                while self.stats.consumed < expected and time.monotonic() < deadline:
                    messages = consumer.consume(
                        min(self.batch_size, expected - self.stats.consumed), timeout=1.0
                    )
                    if not messages:
                        continue
                    with self.metrics.timed("load"):
                        self._load(conn, dead_letters, messages)
                    self._flush(dead_letters)  # before the offsets move past the bad records
                    consumer.commit(asynchronous=False)
                    if progress:
                        progress(self.stats)
        finally:
            consumer.close()
        return self.stats

    def _flush(self, dead_letters) -> None:
        remaining = dead_letters.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} dead-letter records not delivered to {self.dead_letter.name}")

    def _load(self, conn, dead_letters, messages) -> None:
        rows = []
        for msg in messages:
            if msg.error():
                raise RuntimeError(f"consuming {self.topic.name}: {msg.error().str()}")
            self.stats.consumed += 1
            try:
                record = schemas.validate(self.topic.schema_name, schemas.parse_json(msg.value()))
            except schemas.BadRecord as exc:
                value, headers = envelope(str(exc), LOADER_NAME, self.topic.name, msg.value())
                dead_letters.produce(self.dead_letter.name, value=value, key=msg.key(), headers=headers)
                self.stats.dead_lettered += 1
                self.metrics.processed(self.topic.name, DEAD_LETTER)
                continue
            if isinstance(record, schemas.PriceTick):
                rows.append(tick_row(record))
            else:
                self.stats.skipped += 1
        dead_letters.poll(0)
        if rows:
            inserted = insert_ticks(conn, rows)
            self.stats.inserted += inserted
            self.stats.duplicates += len(rows) - inserted
            self.metrics.processed(self.topic.name, SUCCESS, len(rows))
