"""Record schemas: the good pass unchanged, each kind of bad input is rejected with a readable reason."""

import hashlib
import time

import orjson
import pytest

from app.schemas import BadRecord, parse_json, serialize, validate
from app.schemas.deadletter import RAW_LIMIT, envelope

NOW = int(time.time() * 1000)


def tick(**overrides):
    return {
        "type": "tick",
        "symbol": "AAPL",
        "timestamp": NOW,
        "price": 190.25,
        "volume": 100,
        "bid": 190.2,
        "ask": 190.3,
        "bid_size": 3,
        "ask_size": 4,
        "source": "test",
        **overrides,
    }


def test_tick_round_trips_and_is_keyed_by_symbol():
    record = validate("market_event", tick(symbol=" brk.b "))
    assert record.symbol == "BRK.B" and record.key() == b"BRK.B"
    assert orjson.loads(serialize(record))["price"] == 190.25


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (tick(price=-1.0), "price: Input should be greater than 0"),
        (tick(price=float("nan")), "price: Input should be a finite number"),
        (tick(price=float("inf")), "price: Input should be a finite number"),
        (tick(price="190.25"), "price: Input should be a valid number"),
        (tick(price=True), "price: Input should be a valid number"),
        (tick(volume=1.5), "volume: Input should be a valid integer"),
        (tick(symbol="ÄPPL"), "symbol: String should match pattern"),
        (tick(symbol="$AAPL"), "symbol: String should match pattern"),
        (tick(timestamp=NOW // 1000), "timestamp: Value error, timestamp must be epoch milliseconds"),
        (tick(timestamp=NOW + 10 * 86_400_000), "timestamp: Value error"),
        ({k: v for k, v in tick().items() if k != "price"}, "price: Field required"),
        (tick(type="trade"), "does not match any of the expected tags"),
        ([1, 2, 3], "valid dictionary"),
    ],
)
def test_bad_market_records_are_rejected_with_reason(data, fragment):
    with pytest.raises(BadRecord) as info:
        validate("market_event", data)
    assert fragment in str(info.value)


def test_malformed_json_and_nan_literals_are_rejected():
    with pytest.raises(BadRecord, match="malformed JSON"):
        parse_json(b'{"symbol": "AAPL", ')
    with pytest.raises(BadRecord, match="malformed JSON"):
        parse_json(b'{"price": NaN}')


def test_other_schemas_validate():
    article = validate(
        "article",
        {
            "id": "6f1c2d3e-0000-4000-8000-000000000001",
            "title": "Fed holds",
            "source": "newsapi",
            "published_at": NOW,
            "symbols_mentioned": ["spy"],
        },
    )
    assert article.symbols_mentioned == ["SPY"]
    trade = validate(
        "insider_trade",
        {
            "filing_id": "0001-24-000001:1",
            "symbol": "MSFT",
            "timestamp": NOW,
            "filed_at": NOW,
            "insider_name": "Jane Doe",
            "transaction_type": "buy",
            "shares": 10,
            "price": 400.0,
            "total_value": 4000.0,
            "source": "sec-edgar",
        },
    )
    assert trade.key() == b"MSFT"
    series = validate(
        "economic_indicator",
        {"series_id": "GDP", "timestamp": NOW - 86_400_000, "value": 1.5, "source": "fred"},
    )
    assert series.key() == b"GDP"
    with pytest.raises(BadRecord, match="transaction_type"):
        validate("insider_trade", {**trade.model_dump(), "transaction_type": "steal"})


def test_dead_letter_envelope_truncates_and_hashes_a_huge_payload():
    raw = b"x" * (10 * 1024 * 1024)
    value, headers = envelope("record too large", "polygon", "market-data-raw", raw)
    doc = orjson.loads(value)
    assert doc["raw_bytes"] == len(raw) and doc["raw_truncated"] is True and len(doc["raw"]) == RAW_LIMIT
    assert len(value) < 2 * RAW_LIMIT
    assert dict(headers)["dlq.reason"] == b"record too large"


def test_dead_letter_envelope_sizes_and_hashes_the_original_bytes_of_invalid_utf8():
    raw = b'{"symbol": "\xc4PPL", "note": "\xe2\x82"}'  # Latin-1 and a cut sequence: not UTF-8
    doc = orjson.loads(envelope("invalid_utf8", "flink:market-data", "market-data-raw", raw)[0])
    assert doc["raw_bytes"] == len(raw)
    assert doc["raw_sha256"] == hashlib.sha256(raw).hexdigest()
    assert "\ufffd" in doc["raw"]  # only the readable excerpt is decoded, with replacement characters
