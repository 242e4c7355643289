"""The database loader: market-data-processed -> market_data_ts (TimescaleDB/PostgreSQL), rows on to the lake.

Reads the Flink job's output with isolation.level=read_committed (only committed transactions), inserts
batches with `insert_ticks` (idempotent on the (time, symbol, trade_key) key: one row per trade) and hands
each batch's rows with their (partition, offset) to `on_rows` (the Parquet sink). Kafka offsets are
committed after `on_flush` (the lake write): a crash replays the batches since, which the database skips
and the lake writes again under the same object names. A record the loader cannot read goes to the
dead-letter topic with its reason. Each batch's end-to-end latency (event time -> committed row) is
observed as pipeline_processing_latency_seconds{stage="end_to_end"}, the records left to read as
pipeline_queue_depth{queue=<topic>}.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import TypeAdapter, ValidationError

from app import schemas
from app.catalog import Topic
from app.metrics import DEAD_LETTER, SUCCESS, PipelineMetrics
from app.schemas.deadletter import envelope
from app.schemas.processed import TICK_COLUMNS, ProcessedTick, tick_row
from app.sinks import offsets

LOADER_NAME = "tick-loader"
END_TO_END = "end_to_end"
log = logging.getLogger(__name__)


_PROCESSED = TypeAdapter(ProcessedTick)


def insert_ticks(conn, rows: list[tuple]) -> int:
    """Insert TICK_ROW tuples into market_data_ts and commit; returns how many were new (not key duplicates).

    COPY into a session temp table, then one INSERT .. ON CONFLICT DO NOTHING: a plain COPY would abort
    the whole batch on the first duplicate key.
    """
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tick_staging (LIKE market_data_ts INCLUDING DEFAULTS)"
            " ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY tick_staging ({', '.join(TICK_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("INSERT INTO market_data_ts SELECT * FROM tick_staging ON CONFLICT DO NOTHING")
        inserted = cur.rowcount
    conn.commit()
    return inserted


@dataclass
class LoadStats:
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    latencies: list[np.ndarray] = field(default_factory=list, repr=False)  # seconds, per batch

    def latency_percentile(self, q: float) -> float:
        return float(np.percentile(np.concatenate(self.latencies), q)) if self.latencies else float("nan")


class TickLoader:
    """`run(stop)` loads until `stop` is set and the topic is read to its end as of then."""

    def __init__(
        self,
        bootstrap_servers: str,
        dsn: str,
        topic: Topic,
        dead_letter: Topic,
        *,
        group: str = LOADER_NAME,
        batch_size: int = 2000,
        on_rows: Callable[[list[tuple], list[tuple[int, int]]], None] = lambda rows, positions: None,
        on_flush: Callable[[], None] = lambda: None,
        flush_every: int = 100_000,
    ) -> None:
        self.bootstrap_servers, self.dsn = bootstrap_servers, dsn
        self.topic, self.dead_letter = topic, dead_letter
        self.group, self.batch_size = group, batch_size
        self.on_rows, self.on_flush, self.flush_every = on_rows, on_flush, flush_every
        self.metrics = PipelineMetrics(topic.pipeline)
        self.stats = LoadStats()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Make `run` return at its next poll, committing nothing more (the run was interrupted)."""
        self._cancelled.set()

    def run(self, stop: threading.Event, progress: Callable[[LoadStats], None] = lambda _: None) -> LoadStats:
        import psycopg
        from confluent_kafka import Consumer, Producer

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": self.group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        dead_letters = Producer({"bootstrap.servers": self.bootstrap_servers, "enable.idempotence": True})
        unflushed, ends = 0, None
        try:
            with psycopg.connect(self.dsn) as conn:
                consumer.assign(offsets.partitions(consumer, self.topic.name))  # the group's offsets
                while not self._cancelled.is_set():
                    if ends is None and stop.is_set():
                        ends = offsets.end_offsets(consumer, self.topic.name)
                    if ends is not None and offsets.reached(self._positions(consumer), ends):
                        break
                    messages = consumer.consume(self.batch_size, timeout=0.5)
                    if messages:
                        with self.metrics.timed("load"):
                            unflushed += self._load(conn, dead_letters, messages)
                        self.metrics.queue_depth(self.topic.name, self._lag(consumer))
                        progress(self.stats)
                    if unflushed >= self.flush_every:
                        unflushed = self._commit(consumer, dead_letters, unflushed)
                else:
                    return self.stats
                self._commit(consumer, dead_letters, unflushed)
        finally:
            consumer.close()
        return self.stats

    @staticmethod
    def _lag(consumer) -> int:
        """Records of the topic not read yet, by the high watermarks of the last fetches (no request)."""
        lag = 0
        for tp in consumer.position(consumer.assignment()):
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                lag += max(high - tp.offset, 0)
        return lag

    @staticmethod
    def _positions(consumer) -> dict[int, int]:
        return {tp.partition: tp.offset for tp in consumer.position(consumer.assignment())}

    def _commit(self, consumer, dead_letters, pending: int) -> int:
        """The lake and the dead letters written, then the offsets moved past the `pending` records."""
        self.on_flush()
        remaining = dead_letters.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} dead-letter records not delivered to {self.dead_letter.name}")
        if pending:
            consumer.commit(asynchronous=False)
        return 0

    def _load(self, conn, dead_letters, messages) -> int:
        """Load one batch; returns how many records it consumed."""
        rows, positions, before = [], [], self.stats.consumed
        for msg in messages:
            if msg.error():
                # librdkafka retries what it reports as non-fatal (a coordinator still being elected).
                if msg.error().fatal():
                    raise RuntimeError(f"consuming {self.topic.name}: {msg.error().str()}")
                log.warning("consuming %s: %s (retrying)", self.topic.name, msg.error().str())
                continue
            self.stats.consumed += 1
            try:
                rows.append(tick_row(_PROCESSED.validate_json(msg.value())))
                positions.append((msg.partition(), msg.offset()))
            except ValidationError as exc:
                value, headers = envelope(schemas.reason(exc), LOADER_NAME, self.topic.name, msg.value())
                dead_letters.produce(self.dead_letter.name, value=value, key=msg.key(), headers=headers)
                self.stats.dead_lettered += 1
                self.metrics.processed(self.topic.name, DEAD_LETTER)
        dead_letters.poll(0)
        if not rows:
            return self.stats.consumed - before
        inserted = insert_ticks(conn, rows)
        committed_at = time.time()
        self.stats.inserted += inserted
        self.stats.duplicates += len(rows) - inserted
        self.metrics.processed(self.topic.name, SUCCESS, len(rows))
        latencies = committed_at - np.fromiter((row[0].timestamp() for row in rows), float, len(rows))
        self.stats.latencies.append(latencies)
        self.metrics.latencies(END_TO_END, latencies)
        self.on_rows(rows, positions)
        return self.stats.consumed - before
