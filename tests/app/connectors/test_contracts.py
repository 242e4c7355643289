"""Contract test of every configuration-only source: its sources.yaml entry, run through the real runtime into
the session's broker, against a fake of the vendor serving the fixture tests/fakes/vendors/<source>.yaml
(written from the vendor's documentation, which it names): pagination, rate-limit answers, error bodies and
quirks included. Each source runs, stops, and runs again from its cursor while the vendor publishes more:
the test checks the records, that the restart re-sent none and sent every new one, the cursor, the
credential on every request, and the malformed payload on the dead-letter topic with its reason.

The sources whose protocol is code have tests of their own (CODED below); every sources.yaml entry is in
one of the two sets.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition

from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.http import CredentialRefused
from app.connectors.runtime import Connector
from app.connectors.websocket import _subscriptions
from tests.conftest import unique_name
from tests.fakes.vendor import Credential, FixtureVendor

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
FIXTURES = Path(__file__).parents[2] / "fakes" / "vendors"
CREDENTIAL = "contract-test-credential"
POLL = "100ms"
CODED = {  # source -> the test of its own protocol code, or of the source without a vendor
    "polygon": "tests/app/connectors/test_polygon.py",
    "sec_edgar_form4": "tests/app/connectors/test_edgar.py",
    "synthetic": "tests/app/connectors/test_synthetic.py",
    "replay_ticks": "tests/app/connectors/test_replay.py",
}
SOURCES = load_sources()


def _fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))


def test_every_source_has_a_contract_fixture_or_a_test_of_its_own():
    fixtures = {path.stem for path in FIXTURES.glob("*.yaml")}
    assert fixtures.isdisjoint(CODED)
    assert fixtures | set(CODED) == set(SOURCES), "sources.yaml and the fixtures disagree"
    for name in CODED:
        assert (Path(__file__).parents[3] / CODED[name]).is_file()
    for name in fixtures:
        fixture = _fixture(name)
        assert fixture["source"] == name
        assert str(fixture["document"]).startswith("https://"), f"{name}: the fixture names no document"
        assert SOURCES[name][0].vendor, f"{name}: sources.yaml names no vendor"


def _local(url: str, base: str) -> str:
    """The configured URL with the fake's scheme, host and port; path and query kept."""
    parts = urlsplit(url)
    scheme = "ws" if parts.scheme in ("ws", "wss") else "http"
    local = f"{scheme}://{urlsplit(base).netloc}{parts.path}"
    return f"{local}?{parts.query}" if parts.query else local


def _read(bootstrap: str, wanted: dict[str, int], timeout: float = 30.0) -> dict[str, list[dict]]:
    """Every record of each topic, once the counts wanted are there and a short wait brought no more."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": unique_name("read"), "enable.auto.commit": False}
    )
    try:
        consumer.assign(
            [
                TopicPartition(name, partition, 0)
                for name in wanted
                for partition in consumer.list_topics(name, timeout=10).topics[name].partitions
            ]
        )
        found: dict[str, list[dict]] = {name: [] for name in wanted}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            complete = all(len(found[name]) >= count for name, count in wanted.items())
            batch = consumer.consume(1000, timeout=0.3 if complete else 0.1)
            for message in batch:
                assert message.error() is None, message.error()
                found[message.topic()].append(orjson.loads(message.value()))
            if complete and not batch:  # a quiet read once all is there: an extra record would show
                break
        return found
    finally:
        consumer.close()


async def _until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout:.0f}s")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("name", sorted(path.stem for path in FIXTURES.glob("*.yaml")))
def test_source_follows_its_vendor_contract(name, kafka_broker, tmp_path, monkeypatch):
    fixture, (config, options) = _fixture(name), SOURCES[name]
    expect = fixture["expect"]
    bootstrap = kafka_broker.bootstrap_servers
    suffix = "." + unique_name("c")
    topic = catalog()[config.topic]
    topics = Catalog([topic, catalog().dead_letter(topic.pipeline)]).with_suffix(suffix)
    ensure_topics(bootstrap, topics)
    credential = None
    if config.auth:
        monkeypatch.setenv(config.auth.env, CREDENTIAL)
        auth = config.auth
        credential = Credential(CREDENTIAL, auth.query, auth.header, auth.prefix)
    # Quotas, rates and the minute Alpha Vantage asks to wait after an over-quota answer have tests of their
    # own (test_quota.py, test_runtime_parts.py); here they would only wait.
    config = config.model_copy(update={"rate_limit": None, "quota": None})
    monkeypatch.setattr("app.connectors.http.THROTTLED_BODY_WAIT", 0.1)
    cursors = CursorStore(tmp_path)
    streaming = config.adapter in ("websocket", "sse")

    tested = options.model_copy(update=fixture.get("options", {}))
    subscriptions = len(_subscriptions(tested)) if config.adapter == "websocket" else 0

    async def scenario() -> FixtureVendor:
        async with FixtureVendor(fixture, credential, subscriptions) as vendor:
            update = {"url": _local(options.url, vendor.base)} | ({} if streaming else {"schedule": POLL})
            local = tested.model_copy(update=update)

            async def run(wanted: int, phase: str) -> None:
                vendor.phase = phase
                connector = Connector(config, local, bootstrap, cursors, topics=topics, topic_suffix=suffix)
                task = asyncio.create_task(connector.run())
                produced = connector.producer
                saved = cursors.load(name)
                try:
                    await _until(
                        lambda: produced.delivered_total >= wanted or task.done(), f"{wanted} delivered"
                    )
                    if not streaming:  # a whole poll is in: its cursor was saved after its delivery
                        await _until(lambda: cursors.load(name) != saved or task.done(), "a cursor saved")
                finally:
                    connector.stop()
                    await task

            await run(expect["before"], "before")
            await run(expect["after"], "after")
            return vendor

    vendor = asyncio.run(scenario())

    dead_letter = topics.dead_letter(topic.pipeline).name
    wanted = {config.topic + suffix: expect["before"] + expect["after"], dead_letter: expect["dead_letters"]}
    found = _read(bootstrap, wanted)
    records, letters = found[config.topic + suffix], found[dead_letter]
    assert len(records) == expect["before"] + expect["after"], "the restart re-sent or lost records"
    sample = expect["record"]
    assert any(sample.items() <= record.items() for record in records), (sample, records[:3])
    reasons = [letter["reason"] for letter in letters]
    assert len(letters) == expect["dead_letters"], reasons
    assert any(expect["reason"] in reason for reason in reasons), reasons
    assert all(
        letter["source"] == name and CREDENTIAL not in orjson.dumps(letter).decode() for letter in letters
    )

    cursor = cursors.load(name)
    spec = getattr(options, "cursor", None)
    if config.adapter == "sse" and options.latest:
        newest = {}
        for record in records:
            key = record[options.latest.key]
            newest[key] = max(newest.get(key, 0), record[options.latest.field])
        assert cursor == {"latest": newest}
    elif spec is not None:  # one mark per fan-out request, or one for the source
        marks = list(cursor["requests"].values()) if options.fan_out else [cursor]
        assert max(mark["ts"] for mark in marks) == max(record[spec.field] for record in records)
        after = [query for phase, _, query in vendor.requests if phase == "after"]
        if spec.param:  # the restarted connector asked the vendor only for what follows its cursor
            assert after and spec.param in after[0], after[:1]
    else:
        assert cursor is None
    if streaming:
        assert vendor.connections >= 2


REFUSING = sorted(
    name
    for name in (path.stem for path in FIXTURES.glob("*.yaml"))
    if SOURCES[name][0].auth and "unauthorized" in _fixture(name)
)


@pytest.mark.parametrize("name", REFUSING)
def test_a_refused_credential_stops_the_source_at_its_first_request(
    name, kafka_broker, tmp_path, monkeypatch
):
    """A wrong key, answered as the vendor answers it (the fixture's `unauthorized`: a 401, a 400 or an
    error body in a 200), stops the source naming the variable, after that one request: no retry, no next
    request of its fan-out, nothing delivered."""
    fixture, (config, options) = _fixture(name), SOURCES[name]
    auth = config.auth
    monkeypatch.setenv(auth.env, "not-" + CREDENTIAL)
    bootstrap = kafka_broker.bootstrap_servers
    suffix = "." + unique_name("r")
    topic = catalog()[config.topic]
    topics = Catalog([topic, catalog().dead_letter(topic.pipeline)]).with_suffix(suffix)
    ensure_topics(bootstrap, topics)
    config = config.model_copy(update={"rate_limit": None, "quota": None})
    tested = options.model_copy(update=fixture.get("options", {}))
    subscriptions = len(_subscriptions(tested)) if config.adapter == "websocket" else 0

    async def scenario() -> tuple[FixtureVendor, Connector]:
        credential = Credential(CREDENTIAL, auth.query, auth.header, auth.prefix)
        async with FixtureVendor(fixture, credential, subscriptions) as vendor:
            local = tested.model_copy(update={"url": _local(options.url, vendor.base)})
            connector = Connector(
                config, local, bootstrap, CursorStore(tmp_path), topics=topics, topic_suffix=suffix
            )
            with pytest.raises(CredentialRefused, match=re.escape(f"the credential in ${auth.env}")):
                await asyncio.wait_for(connector.run(), 30)
            return vendor, connector

    vendor, connector = asyncio.run(scenario())
    assert len(vendor.requests) == 1, vendor.requests
    assert connector.producer.delivered_total == connector.producer.dead_lettered_total == 0


NEW_SOURCE = """
sources:
  acme_quotes:
    vendor: Acme Market Data
    adapter: rest
    topic: market-data-raw
    rate_limit: 10/second
    auth: {env: ACME_TOKEN, header: Authorization, prefix: "Token "}
    options:
      url: URL/v1/quotes
      params: {universe: us}
      schedule: 100ms
      records: quotes
      pagination: {type: token, param: cursor, next_field: next, max_pages: 5}
      cursor: {field: timestamp, id_field: symbol, param: since, format: ms}
      mapping:
        type: {value: quote}
        symbol: ticker
        timestamp: {from: quoted_at, as: iso_ms}
        bid: {from: bid, as: float}
        ask: {from: ask, as: float}
        bid_size: {from: bid_qty, as: int}
        ask_size: {from: ask_qty, as: int}
        source: {value: acme}
"""
ACME_PAGE = {
    "quotes": [
        {
            "ticker": "ACME",
            "quoted_at": "2024-05-03T14:00:00Z",
            "bid": "9.99",
            "ask": "10.01",
            "bid_qty": "300",
            "ask_qty": "200",
        }
    ],
    "next": "p2",
}


def test_a_new_rest_source_is_configuration_only(kafka_broker, tmp_path, monkeypatch):
    """A vendor nobody wrote code for: one entry in a sources file, run end to end into the broker."""
    bootstrap = kafka_broker.bootstrap_servers
    fixture = {
        "unauthorized": {"status": 401, "body": {"detail": "bad token"}},
        "before": [
            {
                "path": "/v1/quotes",
                "query": {"cursor": "p2"},
                "body": {
                    "quotes": [
                        {**ACME_PAGE["quotes"][0], "ticker": "WIDG", "quoted_at": "2024-05-03T14:00:01Z"}
                    ],
                    "next": None,
                },
            },
            {"path": "/v1/quotes", "body": ACME_PAGE},
        ],
    }
    monkeypatch.setenv("ACME_TOKEN", CREDENTIAL)

    async def scenario() -> None:
        async with FixtureVendor(
            fixture, Credential(CREDENTIAL, header="Authorization", prefix="Token ")
        ) as vendor:
            path = tmp_path / "sources.yaml"
            path.write_text(NEW_SOURCE.replace("URL", vendor.base))
            config, options = load_sources(path)["acme_quotes"]
            suffix = "." + unique_name("new")
            topic = catalog()[config.topic]
            topics = Catalog([topic, catalog().dead_letter(topic.pipeline)]).with_suffix(suffix)
            ensure_topics(bootstrap, topics)
            connector = Connector(
                config, options, bootstrap, CursorStore(tmp_path), topics=topics, topic_suffix=suffix
            )
            task = asyncio.create_task(connector.run())

            def asked_since_the_cursor() -> bool:  # the newest quote's time, in ms as configured
                return any(q.get("since") == "1714744801000" for _, _, q in vendor.requests)

            try:
                await _until(
                    lambda: (
                        (connector.producer.delivered_total >= 2 and asked_since_the_cursor()) or task.done()
                    ),
                    "2 delivered and a poll from the cursor",
                )
            finally:
                connector.stop()
                await task
            found = _read(bootstrap, {config.topic + suffix: 2})[config.topic + suffix]
            assert sorted((q["symbol"], q["bid"], q["ask_size"]) for q in found) == [
                ("ACME", 9.99, 200),
                ("WIDG", 9.99, 200),
            ]
            assert all(q["type"] == "quote" and q["source"] == "acme" for q in found)

    asyncio.run(scenario())
