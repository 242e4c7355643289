"""The generic WebSocket adapter, configured as Finnhub in sources.yaml, against a local Finnhub stream
and the real broker: reconnects after a mid-stream drop, pings skipped, bad messages dead-lettered."""

from __future__ import annotations

import asyncio
import collections

import pytest

from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.runtime import Connector
from app.metrics import sample
from tests.app.connectors.kafka_helpers import isolated_topics, read_all, values
from tests.fakes.finnhub import TOKEN, FakeFinnhub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
BAD = [
    '{"type":"trade","data":[{"p":"x","s":"AAPL","t":1700000000000,"v":1}]}',
    '{"type":"trade","data":[{"p":1.5,"s":"AAPL"',
]


def test_finnhub_stream_reconnects_and_keeps_per_symbol_order(kafka_broker, tmp_path, monkeypatch):
    monkeypatch.setenv("FINNHUB_API_KEY", TOKEN)
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    config, options = load_sources()["finnhub_trades"]
    fake = FakeFinnhub(per_connection=100, extra_frames=BAD)

    async def scenario():
        await fake.server.start()
        try:
            local = options.model_copy(update={"url": fake.url, "symbols": ["AAPL", "MSFT"]})
            connector = Connector(
                config, local, bootstrap, CursorStore(tmp_path), topics=topics, topic_suffix=suffix
            )
            task = asyncio.create_task(connector.run())
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while len(fake.sent) < 200 and loop.time() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            connector.stop()
            await task
        finally:
            await fake.server.stop()

    asyncio.run(scenario())
    assert fake.connections == 2
    got = values(read_all(bootstrap, "market-data-raw" + suffix, expect=len(fake.sent)))
    sent = collections.defaultdict(list)
    for trade in fake.sent:
        sent[trade["s"]].append(round(trade["p"], 4))
    received = collections.defaultdict(list)
    for tick in got:
        received[tick["symbol"]].append(round(tick["price"], 4))
    assert received == sent  # every trade of both connections, once, in order per symbol
    dead = values(read_all(bootstrap, "market-data-dead-letter" + suffix, expect=2))
    assert sorted(d["reason"].split(":")[0] for d in dead) == ["malformed JSON", "tick.price"]

    labels = {"pipeline": "market-data", "topic": "market-data-raw" + suffix}
    assert sample("pipeline_messages_processed_total", {**labels, "status": "success"}) == len(fake.sent)
    assert sample("pipeline_messages_processed_total", {**labels, "status": "dead_letter"}) == 2
    latency = {"pipeline": "market-data", "stage": "produce"}
    assert sample("pipeline_processing_latency_seconds_count", latency) >= len(fake.sent)
    quality = sample("pipeline_data_quality_score", {"pipeline": "market-data", "dataset": labels["topic"]})
    assert quality == pytest.approx(len(fake.sent) / (len(fake.sent) + 2))
