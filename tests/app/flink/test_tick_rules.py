"""One rule set: app.schemas and the market-data job's parser (TickParser) give every record of one shared
corpus (tick_corpus.jsonl: raw bytes and the expected verdict) the same verdict: accept (a tick), reject (a
dead letter) or skip (the topic's quotes and bars: not trades, counted by type)."""

from __future__ import annotations

import collections
import hashlib
import json
from pathlib import Path

import orjson
import pytest

from app.flink import config, market_data
from app.local import flink as local_flink
from app.schemas import MARKET_TYPES, BadRecord, parse_record, validate
from infra.process import free_port
from tests.app.flink import harness
from tests.conftest import unique_name

CORPUS = Path(__file__).with_name("tick_corpus.jsonl")
VERDICTS = {"accept", "reject", "skip"}
MAX_BYTES = config.settings("local").market_data.max_message_bytes


def _load() -> list[tuple[str, bytes, str]]:
    cases = []
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        raw = bytes.fromhex(case["raw_hex"]) if "raw_hex" in case else case["raw"].encode("utf-8")
        cases.append((case["case"], raw, case["verdict"]))
    return cases


CASES = _load()


def schema_verdict(raw: bytes) -> str:
    """app.schemas' verdict on a raw-topic record, as the job classifies it."""
    try:
        data = parse_record(raw, MAX_BYTES)
        if isinstance(data, dict) and data.get("type") in MARKET_TYPES and data["type"] != "tick":
            return "skip"
        validate("market_event", data)
    except BadRecord:
        return "reject"
    return "accept"


def test_the_corpus_covers_both_verdicts_with_distinct_records():
    assert len(CASES) >= 60
    assert {verdict for *_, verdict in CASES} == VERDICTS
    assert len({raw for _, raw, _ in CASES}) == len(CASES), (
        "each case's bytes identify it in the job's output"
    )
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "raw", "verdict"), CASES, ids=[name for name, *_ in CASES])
def test_app_schemas_give_the_corpus_verdict(name, raw, verdict):
    assert schema_verdict(raw) == verdict


@pytest.fixture(scope="module")
def job_verdicts(kafka_broker, tmp_path_factory):
    """{case: verdict} from the job itself: rejected if its bytes are dead-lettered, accepted if a processed
    record carries its source (the case's name), else skipped; and the skipped count by type."""
    suffix = "." + unique_name("rules")
    topics = market_data.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))
    # All on one partition, in order (every accepted case's event time is 1 s after the one before it), and
    # a last tick that moves the watermark past them. The other partition stays empty: a partition holding
    # only that tick could set the watermark while this one is still starting, making every case late.
    last = 1_704_067_200_000 + 1000 * len(CASES)
    records = [(0, b"AAPL", raw) for _, raw, _ in CASES] + [
        (0, b"ZZZ", harness.tick("ZZZ", last + 10_000, 1.0))
    ]
    harness.produce(kafka_broker, topics["raw_topic"], records)
    expected = collections.Counter(verdict for *_, verdict in CASES)
    port = free_port()
    result = harness.submit(
        "market-data",
        kafka_broker,
        suffix,
        tmp_path_factory.mktemp("checkpoints"),
        overrides=harness.rest_overrides(port),
    )
    try:
        out = harness.consume(
            kafka_broker,
            [topics["processed_topic"], topics["dead_letter_topic"]],
            expected=expected["accept"] + expected["reject"],
            timeout=180,
        )
        job_id = str(result.get_job_client().get_job_id())
        skipped = harness.settled_metric(f"http://127.0.0.1:{port}", job_id, "skipped_records", "record_type")
    finally:
        result.get_job_client().cancel().result()
        local_flink.shutdown()
    envelopes = [orjson.loads(m.value()) for m in out if m.topic() == topics["dead_letter_topic"]]
    sources = {
        orjson.loads(m.value())["source"].split("|")[0] for m in out if m.topic() == topics["processed_topic"]
    }
    dead = {e["raw_sha256"]: e for e in envelopes}
    verdicts = {}
    for name, raw, _ in CASES:
        envelope = dead.get(hashlib.sha256(raw).hexdigest())
        if envelope is not None:
            assert envelope["raw_bytes"] == len(raw), (name, envelope)  # sized over the raw bytes
        verdicts[name] = "reject" if envelope else "accept" if name in sources else "skip"
    return verdicts, skipped, len(envelopes)


@pytest.mark.integration
def test_the_job_gives_every_case_the_schemas_verdict(job_verdicts):
    verdicts, _, dead_letters = job_verdicts
    disagreements = {
        name: (verdicts[name], verdict) for name, _, verdict in CASES if verdicts[name] != verdict
    }
    assert disagreements == {}, "case: (job, expected)"
    assert dead_letters == sum(verdict == "reject" for *_, verdict in CASES)


@pytest.mark.integration
def test_skipped_records_are_counted_by_type(job_verdicts):
    verdicts, skipped, _ = job_verdicts
    kinds = collections.Counter(
        json.loads(raw)["type"]
        for name, raw, verdict in CASES
        if verdict == "skip" and verdicts[name] == "skip"
    )
    assert skipped == kinds and sum(kinds.values()) == sum(v == "skip" for *_, v in CASES)
