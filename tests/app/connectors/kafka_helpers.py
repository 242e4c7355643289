"""Helpers for the connector integration tests: isolated catalog topics, running a connector for a
while, reading a topic back."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
from confluent_kafka import Consumer, TopicPartition

from app.catalog import catalog
from app.catalog.admin import ensure_topics


def isolated_topics(bootstrap: str):
    """The whole catalog under a run-unique suffix, created on the broker: (catalog, suffix)."""
    suffix = f"-t{uuid.uuid4().hex[:8]}"
    topics = catalog().with_suffix(suffix)
    ensure_topics(bootstrap, topics)
    return topics, suffix


def read_all(bootstrap: str, topic: str, expect: int | None = None, timeout: float = 60.0) -> list:
    """Every message of `topic` from the beginning; waits until `expect` arrived (or the timeout)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        messages, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, timeout=0.5)
            messages.extend(m for m in batch if m.error() is None)
            if not batch and (expect is None or len(messages) >= expect):
                break
        return messages
    finally:
        consumer.close()


def values(messages) -> list[dict]:
    return [orjson.loads(m.value()) for m in messages]


async def run_for(connector, seconds: float) -> None:
    """Run a connector, then stop it the graceful way (the batch in hand finished, flushed, cursor saved)."""
    task = asyncio.create_task(connector.run())
    await asyncio.sleep(seconds)
    connector.stop()
    await task
