"""The market-data job on the real broker and a real Flink mini-cluster: exact indicators, dedup, DLQ."""

from __future__ import annotations

import collections
import hashlib
import math
import random
import time
from datetime import UTC, datetime

import orjson
import pandas as pd
import pytest

from app.flink import config, market_data
from app.local import flink as local_flink
from app.schemas.deadletter import RAW_LIMIT
from infra.process import free_port
from tests.app.flink import harness, reference
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

SYMBOLS = ["AAPL", "MSFT", "BRK.B"]  # BRK.B: vendors' class suffix must pass the symbol pattern
TICKS_PER_SYMBOL = 90
TOLERANCE = 1e-9


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def good_stream(rng: random.Random, base: int) -> tuple[list[tuple[int, bytes, bytes]], pd.DataFrame]:
    """Interleaved symbols, shuffled within 200 ms and with exact replays; plus the unique ticks as truth."""
    truth, records = [], []
    for s, symbol in enumerate(SYMBOLS):
        price = 50.0 + 100 * s
        for i in range(TICKS_PER_SYMBOL):
            ts = base + i * 100 + s * 7
            price = round(max(1.0, price + rng.gauss(0, 0.8)), 4)
            if i % 23 == 5:
                price = round(price, 0)  # flat stretches and repeats exercise zero changes
            truth.append({"symbol": symbol, "timestamp": ts, "price": price})
            wire_symbol = " aapl " if symbol == "AAPL" and i % 4 == 0 else symbol  # normalised by the job
            wire_ts = _iso(ts) if i % 5 == 0 else ts  # ISO strings and epoch ms both accepted
            value = harness.tick(wire_symbol, wire_ts, price, trade_id=f"{symbol}-{i}")
            records.append((ts, s % 2, symbol.encode(), value))
    records.sort(key=lambda r: r[0])
    stream = []
    for start in range(0, len(records), 6):  # bounded disorder, well inside the 1 s out-of-orderness
        chunk = records[start : start + 6]
        rng.shuffle(chunk)
        stream.extend(chunk)
    for i in range(len(stream) - 4, 0, -9):  # replays a few records later
        stream.insert(i + 3, stream[i])
    return [(p, k, v) for _, p, k, v in stream], pd.DataFrame(truth)


def bad_records(now: int) -> list[tuple[bytes, str]]:
    ok = {"type": "tick", "symbol": "AAPL", "timestamp": now, "price": 10.0, "volume": 1, "source": "test"}

    def with_(**changes) -> bytes:
        return orjson.dumps({**ok, **changes})

    missing_price = dict(ok)
    del missing_price["price"]
    return [
        (b"{not json", "malformed_json"),
        (b"[1, 2, 3]", "not_a_json_object"),
        (b"", "empty_message"),
        (orjson.dumps(missing_price), "missing_field:price"),
        (with_(price="10.5"), "wrong_type:price"),
        (with_(volume=1.5), "wrong_type:volume"),
        (with_(symbol=123), "wrong_type:symbol"),
        (with_(price=-5.0), "price_out_of_range"),
        (with_(price=0), "price_out_of_range"),
        (with_(price=5e9), "price_out_of_range"),
        (b'{"symbol": "AAPL", "timestamp": %d, "price": NaN, "volume": 1}' % now, "not_finite:price"),
        (
            b'{"symbol": "AAPL", "timestamp": %d, "price": 1.0, "volume": 1, "bid": Infinity}' % now,
            "not_finite:bid",
        ),
        (with_(volume=-1), "negative_volume"),
        (with_(timestamp=32_503_680_000_000), "timestamp_out_of_range"),  # year 3000
        (with_(timestamp=1_700_000_000), "timestamp_out_of_range"),  # seconds, not ms
        (with_(timestamp="yesterday"), "bad_timestamp"),
        (with_(timestamp="2024-01-01T10:00:00"), "bad_timestamp"),  # no zone: ambiguous
        (with_(symbol="ÄPPLE"), "invalid_symbol"),
        (with_(symbol="$$$"), "invalid_symbol"),
        (with_(symbol="   "), "invalid_symbol"),
        (orjson.dumps({**ok, "pad": "x" * 20_000}), "message_too_large"),
        (with_(source="café €").replace("€".encode(), b"\xff\xfe"), "invalid_utf8"),  # not UTF-8
        (with_(type="trade"), "unknown_type"),  # neither a tick nor a type the job knows to skip
    ]


# Valid records of the raw topic's other types: not trades, so neither output nor dead letter, but counted.
NOT_TICKS = {
    "quote": {"bid": 1.0, "ask": 1.1, "bid_size": 1, "ask_size": 1},
    "agg": {"end_timestamp_offset": 60_000, "open": 1.0, "high": 1.2, "low": 0.9, "close": 1.1, "volume": 10},
}


# The laptop's state backend and the cluster's (jobs.yaml: RocksDB, its timers on the heap): RocksDB
# (de)serializes the operator's state (SymbolState.Serializer) on every access, where the heap keeps objects.
@pytest.fixture(scope="module", params=["hashmap", "rocksdb"])
def run(request, kafka_broker, tmp_path_factory):
    settings = config.settings("local").with_state(backend=request.param)
    suffix = "." + unique_name("md")
    topics = market_data.topics(suffix)
    harness.create_topics(kafka_broker, list(topics.values()))
    rng = random.Random(7)
    now = int(time.time() * 1000)
    base = now - 600_000
    stream, truth = good_stream(rng, base)
    bad = bad_records(base + 1000)
    records = list(stream)
    for i, (value, _) in enumerate(bad):  # bad records land between good ones on both partitions
        records.insert(7 * i + 3, (i % 2, b"AAPL", value))
    for i, (kind, fields) in enumerate(NOT_TICKS.items()):  # i + 1 of each, so the counts tell them apart
        other = {"type": kind, "symbol": "AAPL", "timestamp": base, "source": "test", **fields}
        if "end_timestamp_offset" in other:
            other["end_timestamp"] = base + other.pop("end_timestamp_offset")
        records += [(i % 2, b"AAPL", orjson.dumps(other))] * (i + 1)
    last = int(truth["timestamp"].max())
    records += [(p, b"ZZZ", harness.tick("ZZZ", last + 10_000, 1.0)) for p in (0, 1)]  # moves the watermark
    harness.produce(kafka_broker, topics["raw_topic"], records)

    port = free_port()
    result = harness.submit(
        "market-data",
        kafka_broker,
        suffix,
        tmp_path_factory.mktemp("checkpoints"),
        settings,
        overrides=harness.rest_overrides(port),
    )
    try:
        out = harness.consume(
            kafka_broker,
            [topics["processed_topic"], topics["dead_letter_topic"]],
            expected=len(truth) + len(bad),
            timeout=180,
        )
        # A replay and a fresh tick behind the watermark: both late, both dead-lettered, none processed.
        late = [harness.tick("MSFT", base + 107, 1.0, trade_id="MSFT-1"), harness.tick("MSFT", base + 3, 2.0)]
        harness.produce(kafka_broker, topics["raw_topic"], [(1, b"MSFT", v) for v in late])
        dead = harness.consume(kafka_broker, [topics["dead_letter_topic"]], expected=len(bad) + 2, timeout=60)
        rest, job_id = f"http://127.0.0.1:{port}", str(result.get_job_client().get_job_id())
        counted = dead_letter_metric(rest, job_id)
        skipped = harness.settled_metric(rest, job_id, "skipped_records", "record_type")
    finally:
        result.get_job_client().cancel().result()
        local_flink.shutdown()
    processed = [orjson.loads(m.value()) for m in out if m.topic() == topics["processed_topic"]]
    return processed, dead, truth, bad, counted, skipped


def dead_letter_metric(rest: str, job_id: str, timeout: float = 30.0) -> collections.Counter:
    """The job's dead-letter counts by reason once they stop changing (the REST API samples them)."""
    return harness.settled_metric(rest, job_id, "dead_letters", "reason", timeout)


def test_every_unique_good_tick_comes_out_once(run):
    processed, _, truth, *_ = run
    seen = sorted((r["symbol"], r["timestamp"]) for r in processed)
    assert seen == sorted(zip(truth["symbol"], truth["timestamp"], strict=True))


def test_indicators_equal_the_reference(run):
    processed, _, truth, *_ = run
    expected = reference.indicators(truth).set_index(["symbol", "timestamp"])
    columns = ["sma_20", "sma_50", "rsi_14", "bollinger_upper", "bollinger_lower"]
    checked = 0
    for record in processed:
        row = expected.loc[(record["symbol"], record["timestamp"])]
        assert record["price"] == row["price"]
        for column in columns:
            want = row[column]
            if math.isnan(want):
                assert column not in record, f"{column} must be absent before its window fills: {record}"
            else:
                assert abs(record[column] - want) <= TOLERANCE, (column, record, want)
                checked += 1
    assert checked > len(processed) * 3  # most rows have full windows: the comparison is not vacuous


def test_records_carry_processing_metadata(run):
    processed, *_ = run
    assert {r["pipeline_version"] for r in processed} == {"1.0.0"}
    assert all(r["processed_at"].endswith("Z") for r in processed)
    assert {r["symbol"] for r in processed} == set(SYMBOLS)


def test_bad_and_late_records_are_dead_lettered_with_their_reason(run):
    _, dead, _, bad, *_ = run
    reasons = sorted(dict(m.headers())["dlq.reason"].decode() for m in dead)
    assert reasons == sorted([reason for _, reason in bad] + ["late", "late"])
    for message in dead:
        envelope = orjson.loads(message.value())
        assert envelope["reason"] == dict(message.headers())["dlq.reason"].decode()
        assert envelope["topic"].startswith("market-data-raw")
        assert envelope["raw_truncated"] == (envelope["raw_bytes"] > 16 * 1024)


def test_dead_letters_are_counted_by_reason_in_a_flink_metric(run):
    *_, bad, counted, _ = run
    # The REST API shows a metric group's ':' as '_' (the Prometheus label keeps it).
    expected = [reason.replace(":", "_") for _, reason in bad] + ["late", "late"]
    assert counted == collections.Counter(expected)


def test_dead_letter_envelope_sizes_and_hashes_the_raw_bytes(run):
    _, dead, _, bad, *_ = run
    originals = {hashlib.sha256(value).hexdigest(): value for value, _ in bad}
    checked = 0
    for message in dead:
        envelope = orjson.loads(message.value())
        if envelope["reason"] == "late":  # its raw is the parsed tick (see the README)
            continue
        original = originals[envelope["raw_sha256"]]
        assert envelope["raw_bytes"] == len(original), envelope
        assert envelope["raw_truncated"] == (len(original) > RAW_LIMIT)
        checked += 1
    assert checked == len(bad)


def test_records_of_other_types_are_counted_by_type_not_dropped(run):
    # Neither processed nor dead-lettered (the tests above check both outputs), but counted.
    *_, skipped = run
    assert skipped == collections.Counter({kind: i + 1 for i, kind in enumerate(NOT_TICKS)})
