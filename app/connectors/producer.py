"""Validated records into their topic through an idempotent producer; rejects to the pipeline's dead letter.

Hot path per record: schema validation (into the dict of the record's fields where its schema allows:
app/schemas/dicts.py), orjson-speed serialization (pydantic-core), produce(). Delivery
callbacks only bump local counters and keep the produce->ack latency; `poll()` folds them into the
pipeline metrics (latency as stage="produce") in bulk, off the per-record path.

Nothing is lost silently: a record larger than the topic accepts (its `max.message.bytes`, read from the
broker) is dead-lettered with its size before it is sent, or when the broker refuses it as too large; any
other failed delivery (librdkafka has already retried it for `message.timeout.ms`) is kept as `fault`, and
`check()` raises DeliveryFailed so the runtime never moves a cursor past it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from app import metrics
from app.catalog import Topic
from app.kafka_client import librdkafka_settings
from app.schemas import adapter, list_adapter, reason, serialize
from app.schemas.deadletter import envelope
from app.schemas.dicts import dicts

log = logging.getLogger(__name__)

# librdkafka's default message.max.bytes; a bigger record is a bad record, not a broker error.
MAX_RECORD_BYTES = 1_000_000
# Record-batch header (61 bytes) plus one record's framing and headroom: what a record costs beyond key+value.
RECORD_OVERHEAD = 128
LATENCY_WINDOW = 200_000
# Settings an admin connection shares with the producer (where the cluster is and how to authenticate).
_CONNECTION_KEYS = ("bootstrap.servers", "client.id", "security.", "sasl.", "ssl.")


class DeliveryFailed(RuntimeError):
    """The broker did not acknowledge records: the cursor stays before them and the connector stops."""


class Rejected:
    """A payload an adapter could not map onto its schema; goes to the dead letter with `reason`.

    A batch holds raw dicts (validated here), `Rejected`s, or `Record`s an adapter validated itself."""

    __slots__ = ("reason", "raw")

    def __init__(self, reason: str, raw: object) -> None:
        self.reason, self.raw = reason, raw


def producer_config(bootstrap_servers: str, topic: Topic, client_id: str, **overrides) -> dict:
    """Idempotent, acks=all, batched and compressed as the catalog says for the topic."""
    compression = {"producer": "none", "uncompressed": "none"}.get(topic.compression, topic.compression)
    return {
        "bootstrap.servers": bootstrap_servers,
        **librdkafka_settings(),
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": compression,
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 512 * 1024,
        "message.max.bytes": MAX_RECORD_BYTES + 64 * 1024,
        "logger": logging.getLogger("librdkafka"),  # served by poll(), so it reaches the app's log handlers
        **overrides,
    }


def topic_max_bytes(config: dict, topic: str, timeout: float = 10.0) -> int:
    """The topic's `max.message.bytes` as the broker has it (a topic may be set below the broker default);
    MAX_RECORD_BYTES when the broker will not say (no DescribeConfigs permission, older broker)."""
    admin = AdminClient({k: v for k, v in config.items() if k.startswith(_CONNECTION_KEYS)})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    try:
        entries = admin.describe_configs([resource], request_timeout=timeout)[resource].result(timeout)
        return int(entries["max.message.bytes"].value)
    except (KafkaException, TimeoutError, KeyError, TypeError, ValueError) as exc:
        log.warning("%s: cannot read max.message.bytes (%s); assuming %d", topic, exc, MAX_RECORD_BYTES)
        return MAX_RECORD_BYTES


class TopicProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        topic: Topic,
        dead_letter: Topic,
        source: str,
        *,
        producer_overrides: dict | None = None,
    ) -> None:
        if topic.schema_name is None:
            raise ValueError(f"topic {topic.name} has no schema; connectors write to schema'd topics")
        self.topic, self.dead_letter_topic, self.source = topic.name, dead_letter.name, source
        # Read as dicts where the schema allows it (app/schemas/dicts.py: half the cost of its models).
        self._dicts = dicts(topic.schema_name)
        if self._dicts is not None:
            self._validate = self._dicts.validator.validate_python
            self._validate_list = self._dicts.list_validator.validate_python
        else:
            self._validate = adapter(topic.schema_name).validate_python
            self._validate_list = list_adapter(topic.schema_name).validate_python
        self.metrics = metrics.PipelineMetrics(topic.pipeline)
        config = producer_config(bootstrap_servers, topic, f"wh-{source}", **(producer_overrides or {}))
        broker_limit = topic_max_bytes(config, topic.name)
        # The broker checks the limit per record batch: batches stay within it too.
        self.max_record_bytes = min(MAX_RECORD_BYTES, broker_limit - RECORD_OVERHEAD)
        config["batch.size"] = min(config["batch.size"], broker_limit)
        self._producer = Producer({**config, "on_delivery": self._on_delivery})
        self._pending_latencies: list[float] = []
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)  # recent produce->ack seconds
        self._refused: list[bytes] = []  # values the broker refused as too large, to dead-letter
        self._delivered = self._failed = 0
        self.delivered_total = self.failed_total = self.dead_lettered_total = 0
        self.fault: str | None = None  # the first delivery failure; sticky

    def _on_delivery(self, err: KafkaError | None, msg) -> None:
        if err is None:
            self._delivered += 1
            self._pending_latencies.append(msg.latency())
        elif err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            self._refused.append(msg.value())  # dead-lettered after the poll: no produce() inside a callback
        else:
            self._fail(f"delivery to {msg.topic()} failed: {err.str()}")

    def _on_dead_letter_delivery(self, err: KafkaError | None, msg) -> None:
        if err is not None:
            self._fail(f"dead letter to {msg.topic()} failed: {err.str()}")

    def _fail(self, problem: str) -> None:
        self._failed += 1
        if self.fault is None:  # one log line, not one per record of a failing batch
            self.fault = problem
            log.error("%s: %s", self.source, problem)

    def check(self) -> None:
        """Raise DeliveryFailed if any record was not acknowledged (call after flush())."""
        if self.fault is not None:
            raise DeliveryFailed(
                f"{self.source}: {self.failed_total + self._failed} record(s) not acknowledged by the broker "
                f"(first: {self.fault}); the cursor stays at the last acknowledged batch, so a restart "
                "resends them"
            )

    async def send(self, records: list) -> None:
        """Validate and produce a batch; waits (without blocking the loop) when the producer queue is full."""
        produce, topic = self._producer.produce, self.topic
        for record in self._validated(records):
            value, key = self._encoded(record)
            if len(value) + len(key) > self.max_record_bytes:
                self.dead_letter(
                    f"record of {len(value)} bytes exceeds the {self.max_record_bytes} bytes "
                    f"{self.topic} accepts",
                    value,
                )
                continue
            while True:
                try:
                    produce(topic, value, key)  # the producer-wide on_delivery: no per-call kwarg cost
                    break
                except BufferError:
                    self.poll()
                    await asyncio.sleep(0.002)
        self.poll()

    def _validated(self, records: list) -> Iterable:
        """The batch's records validated, the bad ones dead-lettered. An all-dict batch (the common case) is
        validated in one call; if anything in it is bad, record by record, to dead-letter only the bad."""
        if records and all(type(r) is dict for r in records):
            try:
                return self._validate_list(records)
            except ValueError:  # pydantic's ValidationError is a ValueError
                pass
        return self._one_by_one(records)

    def _one_by_one(self, records: list) -> Iterator:
        for data in records:
            if type(data) is dict:
                try:
                    yield self._validate(data)
                except ValueError as exc:
                    self.dead_letter(reason(exc) if hasattr(exc, "errors") else str(exc), data)
            elif type(data) is Rejected:
                self.dead_letter(data.reason, data.raw)
            else:  # a Record an adapter validated itself (e.g. for its cursor)
                yield data

    def _encoded(self, record) -> tuple[bytes, bytes]:
        """(value, key) of a validated record: the dict of its fields, or its model."""
        if type(record) is dict:
            return self._dicts.to_json(record), self._dicts.key(record)
        return serialize(record), record.key()

    def dead_letter(self, why: str, raw: object) -> None:
        value, headers = envelope(why, self.source, self.topic, raw)
        for attempt in (1, 2):  # a full queue gets one poll's worth of room, then the error stands
            try:
                self._producer.produce(
                    self.dead_letter_topic,
                    value,
                    self.source.encode(),
                    headers=headers,
                    on_delivery=self._on_dead_letter_delivery,
                )
                break
            except BufferError:
                if attempt == 2:
                    raise
                self._producer.poll(0.1)
        self.dead_lettered_total += 1
        self.metrics.processed(self.topic, metrics.DEAD_LETTER)
        log.warning("%s: record sent to %s: %s", self.source, self.dead_letter_topic, why)

    def _serve(self, timeout: float) -> None:
        self._producer.poll(timeout)
        while self._refused:
            value = self._refused.pop()
            self.dead_letter(f"record of {len(value)} bytes refused by the broker as too large", value)

    def poll(self) -> None:
        """Serve delivery callbacks and fold their counts into the pipeline metrics."""
        self._serve(0)
        if self._delivered or self._failed:
            self.metrics.processed(self.topic, metrics.SUCCESS, self._delivered)
            self.metrics.processed(self.topic, metrics.ERROR, self._failed)
            self.delivered_total += self._delivered
            self.failed_total += self._failed
            self._delivered = self._failed = 0
        if self._pending_latencies:
            pending, self._pending_latencies = self._pending_latencies, []
            self.metrics.latencies("produce", pending)
            self.latencies.extend(pending)
        self.metrics.queue_depth("producer", len(self._producer))
        total = self.delivered_total + self.dead_lettered_total
        if total:  # the share of this source's records that passed validation, per topic
            self.metrics.quality(self.topic, self.delivered_total / total)

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until every produced record is acknowledged (or failed), serving callbacks on this loop."""
        deadline = time.monotonic() + timeout
        self._producer.flush(0)
        while len(self._producer) or self._refused:
            if time.monotonic() > deadline:
                raise DeliveryFailed(
                    f"{self.source}: {len(self._producer)} records unacknowledged after {timeout}s"
                )
            self._serve(0.005)
            await asyncio.sleep(0)
        self.poll()

    def close(self) -> None:
        self.poll()
        self._producer.close()
