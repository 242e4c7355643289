"""The news-sentiment job on the real broker and Flink (Python UDF in process mode): scored articles out, bad
ones dead-lettered with the schema's reason, each counted in the job's Flink metrics."""

from __future__ import annotations

import collections
import time
import uuid

import orjson
import pytest

from app.flink import news
from app.flink.jobs import job_name
from app.local import flink as local_flink
from app.probe import ProbeFailed, flink_job
from infra.process import free_port
from tests.app.flink import harness
from tests.conftest import unique_name

pytestmark = pytest.mark.integration


def article(title: str, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "title": title,
        "content": "",
        "source": "test",
        "published_at": int(time.time() * 1000) - 60_000,
        **extra,
    }


def test_news_job_scores_good_articles_and_dead_letters_bad_ones(kafka_broker, tmp_path):
    suffix = "." + unique_name("news")
    topics = news.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))
    good = [
        article("Apple beats earnings estimates as iPhone revenue surges"),
        article("Grandma's Apple pie recipe wins the county fair"),
        article(
            "Regulators open antitrust probe into Amazon marketplace", symbols_mentioned=["AMZN", "EBAY"]
        ),
    ]
    bad = [  # (value, reason, reject code)
        (b"{broken", "malformed JSON", "malformed_json"),
        (orjson.dumps({**article("x"), "id": "not-a-uuid"}), "id", "invalid:id"),
        (
            orjson.dumps({k: v for k, v in article("no source").items() if k != "source"}),
            "source",
            "missing_field:source",
        ),
        (
            orjson.dumps(article("from the future", published_at=32_503_680_000_000)),
            "published_at",
            "invalid:published_at",
        ),
        (  # the schema's cap, under Kafka's
            orjson.dumps(article("huge", content="x" * 1_000_001)),
            "content",
            "out_of_range:content",
        ),
    ]
    records = [(0, None, orjson.dumps(a)) for a in good] + [(1, None, value) for value, *_ in bad]
    produced_at = time.time()
    harness.produce(kafka_broker, topics["raw_topic"], records)
    port = free_port()
    result = harness.submit(
        "news", kafka_broker, suffix, tmp_path / "checkpoints", overrides=harness.rest_overrides(port)
    )
    try:
        out = harness.consume(
            kafka_broker,
            [topics["processed_topic"], topics["dead_letter_topic"]],
            expected=len(good) + len(bad),
            timeout=180,
        )
        consumed_at = time.time()
        rest, job_id = f"http://127.0.0.1:{port}", str(result.get_job_client().get_job_id())
        processed = harness.settled_metric(rest, job_id, "messages_processed", "status")
        dead_letters = harness.settled_metric(rest, job_id, "dead_letters", "reason")
        latency_count = harness.settled_metric(rest, job_id, "processing_latency_seconds_count", "stage")
        latency_ms = harness.settled_metric(rest, job_id, "processing_latency_milliseconds_sum", "stage")
        # The flink-jobs chart's helm test, against the running job's REST API.
        assert flink_job(rest, job_name("news"), timeout=10) == f"{rest}: job 'waardhaven-news' RUNNING"
        with pytest.raises(ProbeFailed, match="job 'waardhaven-market-data' states none"):
            flink_job(rest, job_name("market-data"), timeout=10)
    finally:
        result.get_job_client().cancel().result()
        local_flink.shutdown()
    scored = {
        orjson.loads(m.value())["title"]: orjson.loads(m.value())
        for m in out
        if m.topic() == topics["processed_topic"]
    }
    assert set(scored) == {a["title"] for a in good}
    apple = scored[good[0]["title"]]
    assert (apple["symbols_mentioned"], apple["sentiment_category"], apple["categories"]) == (
        ["AAPL"],
        "positive",
        ["earnings"],
    )
    assert scored[good[1]["title"]]["symbols_mentioned"] == []
    probe = scored[good[2]["title"]]
    assert probe["symbols_mentioned"] == ["AMZN", "EBAY"]  # the producer's and the job's, merged
    assert (probe["sentiment_category"], probe["categories"]) == ("negative", ["regulatory"])
    assert all(-1 <= a["sentiment_score"] <= 1 and a["pipeline_version"] for a in scored.values())
    dead = [m for m in out if m.topic() == topics["dead_letter_topic"]]
    reasons = sorted(dict(m.headers())["dlq.reason"].decode() for m in dead)
    assert len(reasons) == len(bad)
    for (_, expected, _), reason in zip(sorted(bad, key=lambda b: b[1]), reasons, strict=True):
        assert reason.startswith(expected) or expected in reason, (expected, reasons)
    for message in dead:
        assert orjson.loads(message.value())["source"] == "flink:news"

    # The metrics app/monitoring/flink.py maps to the pipeline's (tests/app/monitoring/promtool).
    assert processed == {"success": len(good)}
    # The REST API shows a metric group's ':' as '_' (the Prometheus label keeps it).
    assert dead_letters == collections.Counter(code.replace(":", "_") for *_, code in bad)
    assert latency_count == {news.LATENCY_STAGE: len(good)}
    # Ingest (the Kafka record's timestamp) -> scored: after the produce, before the output was read.
    mean = latency_ms[news.LATENCY_STAGE] / 1000 / len(good)
    assert 0 < mean <= consumed_at - produced_at + 1, (mean, consumed_at - produced_at)
