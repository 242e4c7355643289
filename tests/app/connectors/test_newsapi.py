"""NewsAPI through the generic REST adapter (configured only in sources.yaml) against a local NewsAPI and
the real broker: every article once across polls, a 429 and a restart; bad articles to the dead letter;
the API key never in a log line or a dead letter."""

from __future__ import annotations

import asyncio
import collections
import logging
import time

import pytest

from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.runtime import Connector
from tests.app.connectors.kafka_helpers import isolated_topics, read_all, run_for, values
from tests.fakes.newsapi import API_KEY, FakeNewsApi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def newsapi_connector(fake, bootstrap, topics, suffix, state):
    config, options = load_sources()["newsapi"]
    # The key in the query string, where a careless log line would leak it.
    config = config.model_copy(
        update={"auth": config.auth.model_copy(update={"query": "apiKey", "header": None})}
    )
    options = options.model_copy(update={"url": fake.url, "schedule": "200ms"})
    return Connector(config, options, bootstrap, CursorStore(state), topics=topics, topic_suffix=suffix)


def test_newsapi_delivers_each_article_once_across_restart(kafka_broker, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NEWSAPI_KEY", API_KEY)
    caplog.set_level(logging.DEBUG)
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    base = int(time.time() * 1000) // 1000 * 1000 - 3_600_000
    good = 0

    async def scenario():
        nonlocal good
        fake = await FakeNewsApi().start()
        try:
            for n in range(150):  # 2 pages; several share a second, as real feeds do
                fake.publish(base + (n // 3) * 1000, n)
            good += 150
            fake.publish(base + 5000, 900, publishedAt="yesterday")  # unparseable time
            fake.publish(base + 6000, 901, title=None)  # missing title
            fake.rate_limit_next = 1
            first = newsapi_connector(fake, bootstrap, topics, suffix, tmp_path)
            await run_for(first, 3.5)
            for n in range(150, 200):  # published while the connector is down, some in the last second
                fake.publish(base + (149 // 3) * 1000 + (n - 150) * 200, n)
            good += 50
            fake.malformed_next = 1
            second = newsapi_connector(fake, bootstrap, topics, suffix, tmp_path)
            await run_for(second, 3.0)
        finally:
            await fake.stop()

    asyncio.run(scenario())
    articles = values(read_all(bootstrap, "news-raw" + suffix, expect=good))
    counts = collections.Counter(a["url"] for a in articles)
    assert len(counts) == good and set(counts.values()) == {1}, counts.most_common(3)
    assert all(a["symbols_mentioned"] == ["AAPL", "MSFT"] and a["source"] == "Reuters" for a in articles)

    dead = values(read_all(bootstrap, "news-dead-letter" + suffix, expect=3))
    reasons = sorted(d["reason"] for d in dead)
    assert len(dead) == 3, reasons
    assert any("published_at: 'yesterday' is not an ISO-8601 time" in r for r in reasons), reasons
    assert any(r.startswith("title:") for r in reasons), reasons
    assert any("malformed JSON" in r for r in reasons), reasons

    ours = [r for r in caplog.records if r.name.startswith(("app.", "librdkafka"))]
    assert any("429" in r.getMessage() for r in ours)  # the retry was logged ...
    assert not any(API_KEY in r.getMessage() for r in ours)  # ... without the key
    assert not any(API_KEY in d["raw"] for d in dead)
