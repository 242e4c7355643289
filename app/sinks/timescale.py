"""The database loader: one topic into its table (TimescaleDB/PostgreSQL), rows on to the lake; the same code
for every load of app/sinks/loads.py (market-data-processed -> market_data_ts, news-sentiment-stream ->
news_sentiment_ts, ...).

Reads with isolation.level=read_committed (only committed transactions), inserts batches with `insert_rows`
(idempotent on the table's primary key: market_data_ts's (time, symbol, trade_key) is one row per trade)
in a thread of their own while the next batch is read and parsed, and hands each batch (rows, (partition,
offset) positions, the raw values) to `on_rows` (the lake writer).
Kafka offsets are committed after `on_flush` (the lake write): a crash replays the batches since, which the
database skips and the lake writes again under the same object names. Replicas in one consumer group split
the topic's partitions (app/sinks/assignment.py); a loader gives partitions up in a rebalance only once
what it read of them is stored, flushed and committed. A record the loader cannot read goes to the
dead-letter topic with its reason. Each batch's end-to-end latency (event time -> committed row) is
observed as pipeline_processing_latency_seconds{stage="end_to_end"}, the records left to read in the
loader's partitions as pipeline_queue_depth{queue=<topic>}.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from pydantic import ValidationError

from app import schemas
from app.catalog import Catalog, Topic
from app.kafka_client import librdkafka_settings
from app.metrics import DEAD_LETTER, SUCCESS, PipelineMetrics
from app.schemas.deadletter import envelope
from app.schemas.tables import TICKS, Table
from app.sinks import offsets
from app.sinks.assignment import Assignment
from app.sinks.lake import LakeWriter
from app.sinks.loads import Load

END_TO_END = "end_to_end"
# A killed loader's partitions wait this long for a new owner (librdkafka's default is 45 s).
SESSION_TIMEOUT_MS = 10_000
log = logging.getLogger(__name__)


def insert_rows(conn, rows: list[tuple], table: Table = TICKS) -> int:
    """Insert the table's rows and commit; returns how many were new (not key duplicates).

    COPY straight into the table: a batch is new unless it is replayed after a crash. A duplicate key
    aborts that COPY, and the batch is then COPYed into a session temp table and moved with one
    INSERT .. ON CONFLICT DO NOTHING (twice the database's work, so only when needed).
    """
    import psycopg

    try:
        with conn.cursor() as cur:
            _copy(cur, table.name, table, rows)
        conn.commit()
        return len(rows)
    except psycopg.errors.UniqueViolation:
        conn.rollback()
    staging = f"{table.name}_staging"
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {table.name} INCLUDING DEFAULTS)"
            " ON COMMIT DELETE ROWS"
        )
        _copy(cur, staging, table, rows)
        cur.execute(f"INSERT INTO {table.name} SELECT * FROM {staging} ON CONFLICT DO NOTHING")
        inserted = cur.rowcount
    conn.commit()
    return inserted


def _copy(cur, target: str, table: Table, rows: list[tuple]) -> None:
    with cur.copy(f"COPY {target} ({', '.join(table.column_names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@dataclass
class Loaded:
    """One batch as stored: the rows, each one's (Kafka partition, offset), and the message values."""

    rows: list[tuple]
    positions: list[tuple[int, int]]
    values: list[bytes]


@dataclass
class LoadStats:
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    latencies: list[np.ndarray] = field(default_factory=list, repr=False)  # seconds, per batch

    def latency_percentile(self, q: float) -> float:
        return float(np.percentile(np.concatenate(self.latencies), q)) if self.latencies else float("nan")


class PartitionsLost(RuntimeError):
    """The group gave the loader's partitions to another member before it could commit (its session
    expired): the run ends committing nothing, and the next owner replays from the last commit."""


class TableLoader:
    """`run(stop)` loads the partitions its group assigns it of `topic` (the load's topic, or a suffixed
    copy of it) into the load's table until `stop` is set and they are read to their ends as of then (or
    as of the latest rebalance after it)."""

    def __init__(
        self,
        bootstrap_servers: str,
        dsn: str,
        load: Load,
        topic: Topic,
        dead_letter: Topic,
        *,
        group: str | None = None,
        batch_size: int = 2000,
        on_rows: Callable[[Loaded], None] = lambda loaded: None,
        on_flush: Callable[[], None] = lambda: None,
        flush_every: int = 100_000,
    ) -> None:
        self.bootstrap_servers, self.dsn, self.load = bootstrap_servers, dsn, load
        self.topic, self.dead_letter = topic, dead_letter
        self.group, self.batch_size = group or load.group, batch_size
        self._validate = load.table.validator()
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
                **librdkafka_settings(),
                "group.id": self.group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "session.timeout.ms": SESSION_TIMEOUT_MS,
            }
        )
        dead_letters = Producer(
            {"bootstrap.servers": self.bootstrap_servers, **librdkafka_settings(), "enable.idempotence": True}
        )
        unflushed, ends = 0, None
        try:
            with psycopg.connect(self.dsn) as conn, Pipelined() as stored:

                def release() -> None:
                    nonlocal unflushed
                    if not self._cancelled.is_set():
                        unflushed = self._commit(consumer, dead_letters, stored, unflushed)

                with Assignment(consumer, self.topic.name, release) as assignment:
                    while not self._cancelled.is_set():
                        owned = assignment.next.keys()
                        if stop.is_set() and owned and (ends is None or ends.keys() != owned):
                            ends = self._ends(consumer, owned)
                        if ends is not None and offsets.reached(assignment.positions(), ends):
                            break
                        messages = assignment.kept(consumer.consume(self.batch_size, timeout=0.5))
                        if assignment.lost:
                            raise PartitionsLost(f"{self.topic.name}: the group session expired")
                        if messages:
                            started = time.perf_counter()
                            unflushed += len(messages)
                            batch = self._parse(messages, dead_letters)
                            if batch.rows:
                                stored.submit(self._store, conn, batch, started)
                            self.metrics.queue_depth(self.topic.name, self._lag(consumer))
                            progress(self.stats)
                        if unflushed >= self.flush_every:
                            unflushed = self._commit(consumer, dead_letters, stored, unflushed)
                    else:
                        return self.stats
                    self._commit(consumer, dead_letters, stored, unflushed)
        finally:
            consumer.close()
        return self.stats

    def _ends(self, consumer, owned) -> dict[int, int]:
        return {p: end for p, end in offsets.end_offsets(consumer, self.topic.name).items() if p in owned}

    @staticmethod
    def _lag(consumer) -> int:
        """Records of the owned partitions not read yet, by the high watermarks of the last fetches (no
        request)."""
        lag = 0
        for tp in consumer.position(consumer.assignment()):
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                lag += max(high - tp.offset, 0)
        return lag

    def _commit(self, consumer, dead_letters, stored: Pipelined, pending: int) -> int:
        """The batches stored, the lake and the dead letters written, then the offsets moved past the
        `pending` records."""
        stored.wait()
        self.on_flush()
        remaining = dead_letters.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} dead-letter records not delivered to {self.dead_letter.name}")
        if pending:
            consumer.commit(asynchronous=False)
        return 0

    def _parse(self, messages, dead_letters) -> Loaded:
        """One batch's rows; what cannot be read goes to the dead-letter topic."""
        rows, positions, values = [], [], []
        validate, row_of = self._validate, self.load.table.row
        for msg in messages:
            if msg.error():
                # librdkafka retries what it reports as non-fatal (a coordinator still being elected).
                if msg.error().fatal():
                    raise RuntimeError(f"consuming {self.topic.name}: {msg.error().str()}")
                log.warning("consuming %s: %s (retrying)", self.topic.name, msg.error().str())
                continue
            self.stats.consumed += 1
            value = msg.value()
            try:
                rows.append(row_of(validate(value)))
            except ValidationError as exc:
                reason = schemas.reason(exc)
                value, headers = envelope(reason, self.load.group, self.topic.name, value)
                dead_letters.produce(self.dead_letter.name, value=value, key=msg.key(), headers=headers)
                self.stats.dead_lettered += 1
                self.metrics.processed(self.topic.name, DEAD_LETTER)
                continue
            positions.append((msg.partition(), msg.offset()))
            values.append(value)
        dead_letters.poll(0)
        return Loaded(rows, positions, values)

    def _store(self, conn, batch: Loaded, started: float) -> None:
        """Insert a parsed batch and hand it to `on_rows` (in Pipelined's thread, beside the next parse)."""
        rows = batch.rows
        inserted = insert_rows(conn, rows, self.load.table)
        committed_at = time.time()
        self.stats.inserted += inserted
        self.stats.duplicates += len(rows) - inserted
        self.metrics.processed(self.topic.name, SUCCESS, len(rows))
        latencies = committed_at - np.fromiter((row[0].timestamp() for row in rows), float, len(rows))
        self.stats.latencies.append(latencies)
        self.metrics.latencies(END_TO_END, latencies)
        self.on_rows(batch)
        self.metrics.latency("load", time.perf_counter() - started)


class Pipelined:
    """Runs one call at a time in a thread of its own: the database stores a batch while the loader reads
    and parses the next (psycopg releases the GIL while it waits for the server). submit() waits for the
    call before it, so calls keep their order and at most one batch is in flight; an exception raised in
    the thread is raised by the next submit() or wait()."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._pending: Future | None = None

    def submit(self, call: Callable, *args) -> None:
        self.wait()
        self._pending = self._pool.submit(call, *args)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> Pipelined:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True)  # never close the connection under a batch being stored


def loader_with_lake(
    load: Load, bootstrap_servers: str, dsn: str, s3, bucket: str, topics: Catalog, topic_suffix: str = ""
) -> tuple[TableLoader, LakeWriter]:
    """The load's loader with its lake writer in `bucket`, on the topics of `topics` named with the suffix
    (the load's consumer group too): a run isolated on a shared broker, or the cluster's (no suffix)."""
    lake = LakeWriter(s3, bucket, load)
    topic = topics[load.topic + topic_suffix]
    loader = TableLoader(
        bootstrap_servers,
        dsn,
        load,
        topic,
        topics.dead_letter(topic.pipeline),
        group=load.group + topic_suffix,
        on_rows=lake.add,
        on_flush=lake.flush,
    )
    return loader, lake
