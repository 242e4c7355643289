"""Daily/monthly vendor quotas on real parts (the broker, a local NewsAPI that refuses requests past its
quota, the state directory): the spent budget survives a restart, two sources with one key share it, and a
spent budget makes the connector wait for the vendor's reset or stop, without a call, a lost record or a
moved cursor. Window arithmetic and the cross-process lock without a broker."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from zoneinfo import ZoneInfo

import orjson
import pytest

from app.connectors.config import SourceConfig, load_sources
from app.connectors.cursor import CursorStore
from app.connectors.quota import QuotaExhausted, QuotaStore, Window
from app.connectors.runtime import Connector
from app.metrics import sample
from app.yamlconfig import ConfigError
from tests.app.connectors.kafka_helpers import isolated_topics, read_all
from tests.fakes.newsapi import API_KEY, FakeNewsApi

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ARTICLES = 5


def _newsapi(fake, kafka, state, quotas, name="newsapi", **config) -> Connector:
    base, options = load_sources()["newsapi"]
    config = SourceConfig.model_validate({**base.model_dump(), "name": name, "rate_limit": "3/day", **config})
    options = options.model_copy(update={"url": fake.url, "schedule": "100ms"})
    return Connector(
        config, options, kafka.bootstrap, CursorStore(state), kafka.topics, kafka.suffix, quotas=quotas
    )


class _Kafka:
    """The session broker and this test's own copy of the catalog topics."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.topics, self.suffix = isolated_topics(bootstrap)


@pytest.fixture
def kafka(kafka_broker, monkeypatch) -> _Kafka:
    monkeypatch.setenv("NEWSAPI_KEY", API_KEY)
    return _Kafka(kafka_broker.bootstrap_servers)


async def _vendor() -> FakeNewsApi:
    fake = await FakeNewsApi(quota=3).start()
    start = int(time.time()) * 1000 - 3_600_000
    for n in range(ARTICLES):
        fake.publish(start + n * 1000, n)
    return fake


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _waiting(caplog, source: str) -> bool:
    return any(source + ":" in r.getMessage() and "waiting until" in r.getMessage() for r in caplog.records)


def _delivered(kafka: _Kafka) -> list:
    return read_all(kafka.bootstrap, "news-raw" + kafka.suffix, expect=ARTICLES)


pytestmark = pytest.mark.timeout(180)


@pytest.mark.integration
def test_a_restart_does_not_reset_the_spent_quota(kafka, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    quotas = QuotaStore(tmp_path, clock=lambda: NOON)

    async def scenario():
        fake = await _vendor()
        try:
            first = _newsapi(fake, kafka, tmp_path, quotas)
            task = asyncio.create_task(first.run())
            cursor = tmp_path / "newsapi.cursor.json"
            await _until(lambda: fake.calls >= 3 and cursor.exists(), 60, "the first poll and its cursor")
            first.stop()
            await task
            spent = fake.calls
            second = _newsapi(fake, kafka, tmp_path, quotas)
            task = asyncio.create_task(second.run())
            await _until(lambda: fake.calls > spent or _waiting(caplog, "newsapi"), 60, "a call or a wait")
            second.stop()
            await task
            return spent, fake.calls
        finally:
            await fake.stop()

    spent, calls = asyncio.run(scenario())
    assert spent == calls == 3  # the restarted connector did not call a vendor whose quota it had spent
    assert sample("pipeline_connector_quota_remaining", {"pipeline": "news", "source": "newsapi"}) == 0
    assert len(_delivered(kafka)) == ARTICLES
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert orjson.loads(files["NEWSAPI_KEY.quota.json"])["used"] == 3
    assert not any(API_KEY.encode() in body for body in files.values())


@pytest.mark.integration
def test_b_two_sources_with_one_key_share_its_quota(kafka, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    quotas = QuotaStore(tmp_path, clock=lambda: NOON)

    async def scenario():
        fake = await _vendor()
        try:
            one = _newsapi(fake, kafka, tmp_path, quotas, name="newsapi")
            two = _newsapi(fake, kafka, tmp_path, quotas, name="newsapi_markets")
            tasks = [asyncio.create_task(c.run()) for c in (one, two)]
            both = lambda: _waiting(caplog, "newsapi") and _waiting(caplog, "newsapi_markets")  # noqa: E731
            await _until(lambda: fake.calls > 3 or both(), 60, "both sources to wait (or a 4th call)")
            for connector in (one, two):
                connector.stop()
            await asyncio.gather(*tasks)
            return fake.calls
        finally:
            await fake.stop()

    assert asyncio.run(scenario()) == 3


@pytest.mark.integration
def test_c_spent_quota_stops_the_connector_without_a_call_and_keeps_the_cursor(kafka, tmp_path):
    quotas = QuotaStore(tmp_path, clock=lambda: NOON)
    cursors = CursorStore(tmp_path)

    async def scenario():
        fake = await _vendor()
        try:
            first = _newsapi(fake, kafka, tmp_path, quotas, quota={"max_wait": "1h"})
            with pytest.raises(QuotaExhausted) as stopped:
                await asyncio.wait_for(first.run(), 60)
            calls, cursor = fake.calls, cursors.load("newsapi")
            again = _newsapi(fake, kafka, tmp_path, quotas, quota={"max_wait": "1h"})
            with pytest.raises(QuotaExhausted):
                await asyncio.wait_for(again.run(), 60)
            return str(stopped.value), calls, cursor, fake.calls
        finally:
            await fake.stop()

    message, calls, cursor, after_restart = asyncio.run(scenario())
    assert calls == after_restart == 3
    for fragment in ("newsapi", "3/day", "NEWSAPI_KEY", "2026-11-25T00:00:00+00:00", "max_wait 1h"):
        assert fragment in message, message
    assert len(_delivered(kafka)) == ARTICLES  # the first poll's records, delivered before the stop
    assert cursors.load("newsapi") == cursor and cursor["ts"] > 0  # the partial poll moved nothing


@pytest.mark.integration
def test_c_spent_quota_waits_for_the_vendors_reset_then_calls(kafka, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    zone = ZoneInfo("America/New_York")
    start, began = datetime(2026, 11, 24, 23, 59, 59, tzinfo=zone), time.monotonic()
    quotas = QuotaStore(tmp_path, clock=lambda: start + timedelta(seconds=time.monotonic() - began))
    window = Window(3, "day", zone)
    assert all(quotas.take("NEWSAPI_KEY", window) is None for _ in range(3))  # spent before the start

    async def scenario():
        fake = await _vendor()
        try:
            connector = _newsapi(fake, kafka, tmp_path, quotas, quota={"tz": "America/New_York"})
            task = asyncio.create_task(connector.run())
            await _until(lambda: _waiting(caplog, "newsapi"), 30, "the wait to be logged")
            calls_while_waiting = fake.calls
            await _until(lambda: CursorStore(tmp_path).load("newsapi"), 30, "a poll after the reset")
            connector.stop()
            await task
            return calls_while_waiting
        finally:
            await fake.stop()

    assert asyncio.run(scenario()) == 0
    assert len(_delivered(kafka)) == ARTICLES
    waits = [r.getMessage() for r in caplog.records if "waiting until" in r.getMessage()]
    assert "2026-11-25T00:00:00-05:00" in waits[0], waits
    state = orjson.loads((tmp_path / "NEWSAPI_KEY.quota.json").read_bytes())
    assert state["window"] == "2026-11-25T00:00:00-05:00" and state["used"] >= 2


@pytest.mark.parametrize(
    ("now", "period", "zone", "start", "end"),
    [
        ("2026-11-24T23:30:00+00:00", "day", "UTC", "2026-11-24T00:00:00+00:00", "2026-11-25T00:00:00+00:00"),
        (  # the US DST change: a 23-hour day in the vendor's zone
            "2026-03-08T12:00:00-04:00",
            "day",
            "America/New_York",
            "2026-03-08T00:00:00-05:00",
            "2026-03-09T00:00:00-04:00",
        ),
        (  # still March in New York, already April in UTC
            "2026-04-01T02:00:00+00:00",
            "month",
            "America/New_York",
            "2026-03-01T00:00:00-05:00",
            "2026-04-01T00:00:00-04:00",
        ),
        (
            "2026-12-31T23:59:59+00:00",
            "month",
            "UTC",
            "2026-12-01T00:00:00+00:00",
            "2027-01-01T00:00:00+00:00",
        ),
    ],
)
def test_window_follows_the_vendors_calendar_and_zone(now, period, zone, start, end):
    bounds = Window(10, period, ZoneInfo(zone)).bounds(datetime.fromisoformat(now))
    assert [b.isoformat() for b in bounds] == [start, end]


def _grab(directory: str, attempts: int) -> int:
    store = QuotaStore(directory, clock=lambda: NOON)
    return sum(
        store.take("SHARED_KEY", Window(60, "month", ZoneInfo("UTC"))) is None for _ in range(attempts)
    )


def test_processes_sharing_a_key_never_overspend_it(tmp_path):
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        granted = list(pool.map(_grab, [str(tmp_path)] * 4, [40] * 4))
    assert sum(granted) == 60, granted
    reset = QuotaStore(tmp_path, clock=lambda: NOON).take("SHARED_KEY", Window(60, "month", ZoneInfo("UTC")))
    assert reset == datetime(2026, 12, 1, tzinfo=UTC)


def test_corrupt_quota_file_is_named(tmp_path):
    (tmp_path / "SHARED_KEY.quota.json").write_text("{")
    with pytest.raises(ValueError, match="SHARED_KEY.quota.json: corrupt quota file"):
        QuotaStore(tmp_path).take("SHARED_KEY", Window(1, "day", ZoneInfo("UTC")))


def test_sources_sharing_a_key_must_declare_one_quota(tmp_path):
    path = tmp_path / "sources.yaml"
    entry = "adapter: synthetic\n    topic: market-data-raw\n    auth: {env: SHARED_KEY}\n    rate_limit: "
    path.write_text(f"sources:\n  a:\n    {entry}1000/day\n  b:\n    {entry}500/day\n")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert (info.value.path, info.value.key) == (str(path), "sources.b.rate_limit")
    assert "b and a share SHARED_KEY" in str(info.value) and "500/day" in str(info.value)
