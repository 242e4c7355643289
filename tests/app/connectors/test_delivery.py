"""Delivery guarantees on the real broker: the cursor moves only past records the broker acknowledged, and a
record larger than the topic accepts becomes a dead letter with its size (never retried forever or lost)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
import uuid

import orjson
import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.connectors.config import SourceConfig
from app.connectors.cursor import CursorStore
from app.connectors.producer import DeliveryFailed, topic_max_bytes
from app.connectors.replay import ReplayOptions
from app.connectors.runtime import Connector
from app.schemas import serialize, validate
from app.schemas.deadletter import RAW_LIMIT
from tests.app.connectors.kafka_helpers import isolated_topics, read_all, values

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _replay(path, topic, bootstrap, topics, suffix, state, **overrides) -> Connector:
    config = SourceConfig(name="replay_test", adapter="replay", topic=topic)
    options = ReplayOptions(path=path, batch_size=10)
    return Connector(
        config, options, bootstrap, CursorStore(state), topics, suffix, producer_overrides=overrides
    )


def _ticks(path, count: int) -> list[int]:
    start = int(time.time() * 1000) - 60_000
    stamps = [start + n for n in range(count)]
    rows = [{"type": "tick", "symbol": "AAPL", "timestamp": t, "price": 1.5, "volume": 1} for t in stamps]
    path.write_bytes(b"".join(orjson.dumps({**r, "source": "replay"}) + b"\n" for r in rows))
    return stamps


def test_cursor_stays_put_when_the_broker_does_not_acknowledge(kafka_broker, tmp_path):
    bootstrap = kafka_broker.bootstrap_servers
    suffix = f"-t{uuid.uuid4().hex[:8]}"
    topics = catalog().with_suffix(suffix)
    raw = "market-data-raw" + suffix
    ensure_topics(bootstrap, Catalog([t for t in topics if t.name != raw]))  # the broker refuses every record
    stamps = _ticks(tmp_path / "ticks.jsonl", 40)
    state = tmp_path / "state"

    first = _replay(
        tmp_path / "ticks.jsonl",
        "market-data-raw",
        bootstrap,
        topics,
        suffix,
        state,
        **{"message.timeout.ms": 3000},
    )
    with pytest.raises(DeliveryFailed, match="not acknowledged by the broker"):
        asyncio.run(asyncio.wait_for(first.run(), 60))
    assert CursorStore(state).load("replay_test") is None  # nothing acknowledged, nothing skipped

    ensure_topics(bootstrap, topics)  # the cause fixed; a restart resends everything
    second = _replay(tmp_path / "ticks.jsonl", "market-data-raw", bootstrap, topics, suffix, state)
    asyncio.run(asyncio.wait_for(second.run(), 60))
    assert CursorStore(state).load("replay_test") == {"rows": 40}
    delivered = values(read_all(bootstrap, raw, expect=40))
    assert sorted(t["timestamp"] for t in delivered) == stamps


def test_record_larger_than_the_topic_accepts_is_dead_lettered_with_its_size(kafka_broker, tmp_path):
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    raw = "news-raw" + suffix
    limit = 4096  # an operator's topic limit below the broker default
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        raw,
        incremental_configs=[
            ConfigEntry("max.message.bytes", str(limit), incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.incremental_alter_configs([resource])[resource].result(30)
    deadline = time.monotonic() + 30  # the broker applies topic configs asynchronously
    while topic_max_bytes({"bootstrap.servers": bootstrap}, raw) != limit:
        assert time.monotonic() < deadline, "the topic limit never took effect"
    now = int(time.time() * 1000)
    big = base64.b64encode(os.urandom(30_000)).decode()  # incompressible: the broker would see it whole
    articles = [
        {
            "id": str(uuid.uuid4()),
            "title": f"t{n}",
            "content": big if n == 2 else "short",
            "source": "s",
            "published_at": now + n,
        }
        for n in range(5)
    ]
    path = tmp_path / "news.jsonl"
    path.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in articles))
    state = tmp_path / "state"

    connector = _replay(path, "news-raw", bootstrap, topics, suffix, state, **{"message.timeout.ms": 10_000})
    asyncio.run(asyncio.wait_for(connector.run(), 60))

    assert CursorStore(state).load("replay_test") == {"rows": 5}
    delivered = values(read_all(bootstrap, raw, expect=4))
    assert sorted(a["id"] for a in delivered) == sorted(a["id"] for n, a in enumerate(articles) if n != 2)
    dead = values(read_all(bootstrap, "news-dead-letter" + suffix, expect=1))
    assert len(dead) == 1, dead
    letter = dead[0]
    assert letter["raw_bytes"] > limit and f"record of {letter['raw_bytes']} bytes" in letter["reason"]
    assert letter["raw_truncated"] and len(letter["raw"]) < letter["raw_bytes"]
    sent = serialize(validate("article", articles[2]))  # what the producer would have sent
    assert letter["raw_bytes"] == len(sent) and letter["raw"] == sent[:RAW_LIMIT].decode()
    assert letter["raw_sha256"] == hashlib.sha256(sent).hexdigest()
    assert connector.producer.dead_lettered_total == 1 and connector.producer.fault is None
