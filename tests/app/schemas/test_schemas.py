"""Record schemas: the good pass unchanged, each kind of bad input is rejected with a readable reason."""

import hashlib
import time

import orjson
import pytest
from pydantic import ValidationError

from app.schemas import (
    BadRecord,
    adapter,
    parse_json,
    parse_record,
    reason,
    serialize,
    validate,
)
from app.schemas.deadletter import RAW_LIMIT, envelope
from app.schemas.dicts import Dicts, NoDictReading, dicts

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
    ("data", "fragment", "code"),
    [
        (tick(price=-1.0), "price: Input should be greater than 0", "out_of_range:price"),
        (tick(price=float("nan")), "price: Input should be a finite number", "out_of_range:price"),
        (tick(price=float("inf")), "price: Input should be a finite number", "out_of_range:price"),
        (tick(price="190.25"), "price: Input should be a valid number", "wrong_type:price"),
        (tick(price=True), "price: Input should be a valid number", "wrong_type:price"),
        (tick(volume=1.5), "volume: Input should be a valid integer", "wrong_type:volume"),
        (tick(symbol="ÄPPL"), "symbol: String should match pattern", "invalid:symbol"),
        (tick(symbol="$AAPL"), "symbol: String should match pattern", "invalid:symbol"),
        (
            tick(timestamp=NOW // 1000),
            "timestamp: Value error, timestamp must be epoch milliseconds",
            "invalid:timestamp",
        ),
        (tick(timestamp=NOW + 10 * 86_400_000), "timestamp: Value error", "invalid:timestamp"),
        ({k: v for k, v in tick().items() if k != "price"}, "price: Field required", "missing_field:price"),
        (tick(type="trade"), "does not match any of the expected tags", "unknown_type"),
        ([1, 2, 3], "valid dictionary", "wrong_type"),
    ],
)
def test_bad_market_records_are_rejected_with_reason(data, fragment, code):
    with pytest.raises(BadRecord) as info:
        validate("market_event", data)
    assert fragment in str(info.value)
    assert info.value.code == code  # a bounded metric label: the schema's field names, no values


def test_reject_codes_name_no_field_the_schema_does_not_know():
    with pytest.raises(BadRecord) as info:
        validate("article", {"id": "6f1c2d3e-0000-4000-8000-000000000001", "title": "t", "source": "s",
                             "published_at": NOW, "symbols_mentioned": ["$$$"]})  # fmt: skip
    assert info.value.code == "invalid:symbols_mentioned"
    for raw, code in [
        (b"", "empty_message"),
        (b"\xff", "invalid_utf8"),
        (b'{"a": 1, "a": 2}', "malformed_json"),
    ]:
        with pytest.raises(BadRecord) as info:
            parse_record(raw, 100)
        assert info.value.code == code
    with pytest.raises(BadRecord) as info:
        parse_record(b"{}" + b" " * 100, 100)
    assert info.value.code == "message_too_large"


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


def processed(**overrides):
    return {**tick(), "trade_id": 7, "sma_20": 190.1, "processed_at": "2026-12-01T10:00:00.5Z", **overrides}


@pytest.mark.parametrize(
    "data",
    [
        processed(),
        processed(symbol=" brk.b ", source=" x ", timestamp="2026-12-01T10:00:00Z"),
        {k: v for k, v in processed().items() if k not in ("type", "bid", "ask", "trade_id")},
        processed(unknown="ignored"),
        processed(price=-1.0),
        processed(volume=1.5),
        processed(timestamp=NOW // 1000),
        processed(trade_id=""),
        processed(type="quote"),
        processed(processed_at="yesterday"),
        {k: v for k, v in processed().items() if k != "source"},
    ],
)
def test_a_processed_tick_read_as_a_dict_is_its_model_field_for_field(data):
    """The loader reads ticks as dicts (app/schemas/dicts.py): the same records pass, with the same values,
    and the same fail, with the same reason."""
    raw = orjson.dumps(data)
    try:
        model = adapter("processed_tick").validate_json(raw)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as refused:
            dicts("processed_tick").validator.validate_json(raw)
        assert reason(refused.value) == reason(exc)
        return
    fields = dicts("processed_tick").validator.validate_json(raw)
    assert {name: fields.get(name) for name in type(model).model_fields if name != "type"} == {
        name: getattr(model, name) for name in type(model).model_fields if name != "type"
    }


def test_only_a_model_whose_defaults_are_none_is_read_as_a_dict():
    with pytest.raises(NoDictReading, match=r"Article\.content defaults to '', which the dict of a record"):
        Dicts("article")
    assert dicts("article") is None and dicts("social_post") is None
