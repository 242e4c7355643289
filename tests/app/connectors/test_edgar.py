"""SEC EDGAR Form 4 against a local EDGAR and the real broker: each transaction once across a restart,
broken XML and bad lines to the dead letter."""

from __future__ import annotations

import asyncio
import collections

import pytest

from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.runtime import Connector
from tests.app.connectors.kafka_helpers import isolated_topics, read_all, run_for, values
from tests.fakes.edgar import FakeEdgar

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def edgar_connector(fake, bootstrap, topics, suffix, state):
    config, options = load_sources()["sec_edgar_form4"]
    options = options.model_copy(update={"feed_url": fake.feed_url, "schedule": "200ms"})
    return Connector(config, options, bootstrap, CursorStore(state), topics=topics, topic_suffix=suffix)


def test_form4_transactions_arrive_once_and_bad_filings_dead_letter(kafka_broker, tmp_path):
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)

    async def scenario():
        fake = await FakeEdgar().start()
        try:
            fake.file(1, "AAPL", [("S", 1000, 190.5), ("S", 500, 191.0)])
            fake.file(2, "MSFT", [("P", 200, 410.25)])
            fake.file(3, "NVDA", [], xml="<ownershipDocument><issuer>")  # truncated XML
            fake.file(4, "TSLA", [("A", 300, 0), ("S", -5, 250.0)])  # a grant at $0; negative shares
            await run_for(edgar_connector(fake, bootstrap, topics, suffix, tmp_path), 2.0)
            fake.file(5, "AAPL", [("M", 50, 100.0)])
            await run_for(edgar_connector(fake, bootstrap, topics, suffix, tmp_path), 2.0)
        finally:
            await fake.stop()

    asyncio.run(scenario())
    trades = values(read_all(bootstrap, "insider-trading-events" + suffix, expect=5))
    ids = collections.Counter(t["filing_id"] for t in trades)
    assert sorted(ids) == [
        "0001214156-26-000001:1",
        "0001214156-26-000001:2",
        "0001214156-26-000002:1",
        "0001214156-26-000004:1",
        "0001214156-26-000005:1",
    ]
    assert set(ids.values()) == {1}
    first = next(t for t in trades if t["filing_id"] == "0001214156-26-000001:1")
    assert (first["symbol"], first["transaction_type"], first["shares"], first["total_value"]) == (
        "AAPL",
        "sell",
        1000,
        190500.0,
    )
    assert first["insider_title"] == "Chief Financial Officer"
    dead = values(read_all(bootstrap, "insider-trading-dead-letter" + suffix, expect=2))
    reasons = sorted(d["reason"] for d in dead)
    assert len(dead) == 2, reasons
    assert any("malformed Form 4 XML" in r for r in reasons), reasons
    assert any(r.startswith("shares:") for r in reasons), reasons
