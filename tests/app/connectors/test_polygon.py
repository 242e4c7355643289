"""Polygon connector against the local Polygon server and the real broker: counts, per-symbol order and
no duplicates across a forced disconnect and a connector restart; bad frames to the dead letter."""

from __future__ import annotations

import asyncio
import collections
import time

import pytest
from prometheus_client import REGISTRY

from app.connectors.config import Auth, SourceConfig
from app.connectors.cursor import CursorStore
from app.connectors.polygon import PolygonOptions, trading_day
from app.connectors.runtime import Connector
from tests.app.connectors.kafka_helpers import isolated_topics, read_all, values
from tests.fakes.polygon import API_KEY, FakePolygon

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
SYMBOLS = ["AAPL", "MSFT", "BRK.B"]
PER_SYMBOL = 150
BAD_FRAMES = [
    '[{"ev":"T","sym":"AAPL","p":1',  # malformed JSON
    '[{"ev":"T","sym":"AAPL","p":-5.0,"s":100,"t":1700000000000,"q":999999}]',  # negative price
    '[{"ev":"T","sym":"\u00c4PPL","p":5.0,"s":100,"t":1700000000000,"q":1}]',  # unicode symbol
    '[{"ev":"T","sym":"MSFT","p":"abc","s":100,"t":1700000000000,"q":999998}]',  # wrong type
    '[{"ev":"T","sym":"MSFT","p":5.0,"s":100,"t":99,"q":999997}]',  # absurd timestamp
    '[{"ev":"T","sym":"MSFT","s":100,"t":1700000000000,"q":999996}]',  # missing price
    '[{"ev":"T","sym":"NVDA","p":Infinity,"s":1,"t":1700000000000,"q":1}]',  # Infinity literal
    '[{"ev":"T","sym":"NVDA","p":1.0,"s":1,"t":1700000000000,"q":2,"pad":"'
    + "x" * (10 * 1024 * 1024)
    + '"}]',
]


def connector(fake, bootstrap, topics, suffix, state):
    config = SourceConfig(
        name="polygon",
        adapter="polygon",
        topic="market-data-raw",
        auth=Auth(env="POLYGON_API_KEY", query="apiKey"),
    )
    options = PolygonOptions(
        ws_url=fake.ws_url, rest_url=fake.server.url, symbols=SYMBOLS, channels=["T"], backfill_page=40
    )
    return Connector(config, options, bootstrap, CursorStore(state), topics=topics, topic_suffix=suffix)


async def _until(predicate, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_polygon_survives_disconnect_and_restart_without_loss_or_duplicates(
    kafka_broker, tmp_path, monkeypatch
):
    monkeypatch.setenv("POLYGON_API_KEY", API_KEY)
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    stats = {}

    async def scenario():
        fake = await FakePolygon(
            SYMBOLS, PER_SYMBOL, interval=0.02, drop_after=60, inject=BAD_FRAMES, throttle=1
        ).start()
        try:
            first = connector(fake, bootstrap, topics, suffix, tmp_path)
            run = asyncio.create_task(first.run())
            await _until(lambda: fake.connections >= 2 and fake.published >= 250, 60, "a reconnect")
            first.stop()
            await run
            second = connector(fake, bootstrap, topics, suffix, tmp_path)
            run = asyncio.create_task(second.run())
            await asyncio.wait_for(fake.done.wait(), 60)
            caught_up = lambda: all(  # noqa: E731
                second.source.__dict__.get("state", {}).get(f"T.{s}", [0, 0])[1] == PER_SYMBOL
                for s in SYMBOLS
            )
            await _until(caught_up, 30, "the connector to reach the end of the tape")
            second.stop()
            await run
            stats.update(
                connections=fake.connections,
                rest=fake.rest_calls,
                throttled=fake.throttled,
                dead=first.producer.dead_lettered_total + second.producer.dead_lettered_total,
            )
        finally:
            await fake.stop()

    asyncio.run(scenario())
    assert stats["connections"] >= 3, stats  # first, after the drop, after the restart
    assert stats["rest"] >= 2 and stats["throttled"] == 1, stats  # backfills ran, one 429 honoured

    messages = read_all(bootstrap, "market-data-raw" + suffix, expect=len(SYMBOLS) * PER_SYMBOL)
    dead = values(read_all(bootstrap, "market-data-dead-letter" + suffix, expect=len(BAD_FRAMES)))
    by_symbol = collections.defaultdict(list)
    for message, tick in zip(messages, values(messages), strict=True):
        by_symbol[tick["symbol"]].append(tick["sequence"])
        assert message.key() == tick["symbol"].encode()
    for symbol in SYMBOLS:
        expected = list(range(1, PER_SYMBOL + 1))
        assert by_symbol[symbol] == expected, (symbol, set(expected) ^ set(by_symbol[symbol]), stats, dead)
    assert set(by_symbol) == set(SYMBOLS)

    assert stats["dead"] == len(dead) == len(BAD_FRAMES)
    reasons = " | ".join(d["reason"] for d in dead)
    for fragment in [
        "malformed JSON",
        "greater than 0",
        "should match pattern",
        "valid number",
        "epoch milliseconds",
        "Field required",
        "exceeds",
    ]:
        assert fragment in reasons, (fragment, reasons)
    assert all(d["source"] == "polygon" and d["raw_bytes"] > 0 for d in dead)


def _duplicates(topic: str) -> float:
    labels = {"pipeline": "market-data", "topic": topic, "status": "duplicate"}
    return REGISTRY.get_sample_value("pipeline_messages_processed_total", labels) or 0.0


def test_polygon_sequences_restart_each_trading_day_and_faults_back_off(kafka_broker, tmp_path, monkeypatch):
    """Two sessions whose sequences both run 1..N; refused handshakes (429, 503) and a backfill page that is
    not an object on the way: every trade of both days once, in order, the page dead-lettered, the resume
    overlap counted as duplicates."""
    monkeypatch.setenv("POLYGON_API_KEY", API_KEY)
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    raw, per_symbol = "market-data-raw" + suffix, 40
    stats = {}

    async def scenario():
        fake = await FakePolygon(
            SYMBOLS, per_symbol, interval=0.02, sessions=2, drop_after=30, refuse=[429, 503], bad_pages=1
        ).start()
        try:
            run_ = connector(fake, bootstrap, topics, suffix, tmp_path)
            task = asyncio.create_task(run_.run())
            await asyncio.wait_for(fake.done.wait(), 60)
            today = trading_day(int(time.time() * 1000))
            caught_up = lambda: all(  # noqa: E731
                (trading_day(last[0]), last[1]) == (today, per_symbol)
                for last in (run_.source.__dict__.get("state", {}).get(f"T.{s}", [0, 0]) for s in SYMBOLS)
            )
            await _until(caught_up, 30, "the connector to reach the end of the second session")
            run_.stop()
            await task
            stats.update(connections=fake.connections, refused_left=fake.refuse, bad_left=fake.bad_pages)
        finally:
            await fake.stop()

    before = _duplicates(raw)
    asyncio.run(scenario())
    assert stats["refused_left"] == [] and stats["bad_left"] == 0 and stats["connections"] >= 3, stats

    by_symbol = collections.defaultdict(list)
    for tick in values(read_all(bootstrap, raw, expect=2 * len(SYMBOLS) * per_symbol)):
        by_symbol[tick["symbol"]].append((trading_day(tick["timestamp"]), tick["sequence"]))
    days = sorted({day for ticks in by_symbol.values() for day, _ in ticks})
    assert len(days) == 2, days
    expected = [(day, n) for day in days for n in range(1, per_symbol + 1)]
    for symbol in SYMBOLS:
        assert by_symbol[symbol] == expected, (symbol, set(expected) ^ set(by_symbol[symbol]))
    dead = values(read_all(bootstrap, "market-data-dead-letter" + suffix, expect=1))
    assert [d["reason"] for d in dead] == ["trades page is not an object with a results list"]
    assert _duplicates(raw) - before >= len(
        SYMBOLS
    )  # each resume re-reads at least the last trade per symbol


def test_polygon_backfills_only_after_the_subscription_is_confirmed(kafka_broker, tmp_path, monkeypatch):
    """A server slow to activate subscriptions: a backfill started before the confirmation would miss what is
    published between its REST answer and the activation (the once-seen flake under load, made certain)."""
    monkeypatch.setenv("POLYGON_API_KEY", API_KEY)
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    per_symbol = 60

    async def scenario():
        fake = await FakePolygon(
            SYMBOLS, per_symbol, interval=0.02, drop_after=30, subscribe_delay=0.5
        ).start()
        try:
            run_ = connector(fake, bootstrap, topics, suffix, tmp_path)
            task = asyncio.create_task(run_.run())
            await asyncio.wait_for(fake.done.wait(), 60)
            caught_up = lambda: all(  # noqa: E731
                run_.source.__dict__.get("state", {}).get(f"T.{s}", [0, 0])[1] == per_symbol for s in SYMBOLS
            )
            await _until(caught_up, 30, "the connector to reach the end of the tape")
            run_.stop()
            await task
            return fake.connections
        finally:
            await fake.stop()

    assert asyncio.run(scenario()) >= 2
    by_symbol = collections.defaultdict(list)
    for tick in values(read_all(bootstrap, "market-data-raw" + suffix, expect=len(SYMBOLS) * per_symbol)):
        by_symbol[tick["symbol"]].append(tick["sequence"])
    for symbol in SYMBOLS:
        assert by_symbol[symbol] == list(range(1, per_symbol + 1)), (symbol, by_symbol[symbol])
