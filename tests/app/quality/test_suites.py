"""The two suites catch what each of their expectations is for: a clean batch passes with score 1, and a
batch that breaks one expectation fails that one (and no other), with the score the rows it broke."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from app.quality import suites
from app.quality.ticks import tick_frame
from app.quality.validation import validate
from app.schemas.daily import DAILY_COLUMNS

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)


def _tick(i: int, name: str, changes: dict) -> tuple:
    fields = {
        "time": NOW - timedelta(minutes=30) + timedelta(seconds=i),
        "symbol": name,
        "price": 10.0 + i / 100,
        "volume": 100,
        "bid": None,
        "ask": None,
        "bid_size": None,
        "ask_size": None,
        "sma_20": None,
        "sma_50": None,
        "rsi": None,
        "bollinger_upper": None,
        "bollinger_lower": None,
        "processed_at": NOW,
        "data_source": "test",
        "trade_key": f"seq:{i}",
    } | changes
    return tuple(fields.values())


def _ticks(broken: int | None = None, **changes) -> list[tuple]:
    """50 ticks of each of 4 symbols, in time order; row `broken` with `changes`."""
    symbols = ("ACME", "BRK.B", "EUR/USD", "^GSPC")
    rows = [(i, symbol) for i in range(50) for symbol in symbols]
    return [_tick(i, symbol, changes if n == broken else {}) for n, (i, symbol) in enumerate(rows)]


def _failed(validation) -> list[str]:
    return validation.critical + validation.warnings


def test_a_clean_tick_batch_passes_with_score_1():
    validation = validate(tick_frame(_ticks()), suites.tick_suite(NOW))

    assert _failed(validation) == []
    assert validation.passed and validation.score == 1.0 and validation.rows == 200


BAD_TICKS = {
    # case: (row index to break, changes, expectation that must fail, its severity is critical)
    "null symbol": (3, {"symbol": None}, "expect_column_values_to_not_be_null(column='symbol'", True),
    "null price": (3, {"price": None}, "expect_column_values_to_not_be_null(column='price'", True),
    "null time": (3, {"time": None}, "expect_column_values_to_not_be_null(column='time'", True),
    "zero price": (3, {"price": 0.0}, "expect_column_values_to_be_between(column='price'", True),
    "price above the schema's range": (
        3,
        {"price": 1e6},
        "expect_column_values_to_be_between(column='price'",
        True,
    ),
    "symbol off pattern": (
        3,
        {"symbol": "acme corp"},
        "expect_column_values_to_match_regex(column='symbol'",
        True,
    ),
    "negative volume": (3, {"volume": -1}, "expect_column_values_to_be_between(column='volume'", True),
    "time going back": (
        8,
        {"time": NOW - timedelta(hours=2)},
        "expect_column_pair_values_a_to_be_greater_than_b",
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TICKS))
def test_a_tick_batch_breaking_one_expectation_fails_it(case):
    index, changes, expectation, critical = BAD_TICKS[case]
    rows = _ticks(index, **changes)

    validation = validate(tick_frame(rows), suites.tick_suite(NOW))

    failed = _failed(validation)
    assert len(failed) == 1 and failed[0].startswith(expectation), failed
    assert (validation.critical == failed) is critical
    assert "1 of" in failed[0]
    assert validation.score == pytest.approx(1 - 1 / len(rows))


def test_a_missing_column_fails_the_whole_tick_batch():
    frame = tick_frame(_ticks()).drop(columns=["trade_key"])

    validation = validate(frame, suites.tick_suite(NOW))

    assert any(f.startswith("expect_table_columns_to_match_set") for f in validation.critical)
    assert validation.score == 0.0


def test_a_stale_tick_batch_is_a_warning_that_does_not_lower_the_score():
    validation = validate(tick_frame(_ticks()), suites.tick_suite(NOW + suites.TICK_MAX_AGE * 2))

    assert validation.critical == []
    assert [w.split("(")[0] for w in validation.warnings] == ["expect_column_max_to_be_between"]
    assert validation.score == 1.0


def _summary() -> pd.DataFrame:
    rows = []
    for i, symbol in enumerate(("ACME", "BRK.B", "EUR/USD")):
        rows.append(
            {
                "day": DAY,
                "symbol": symbol,
                "open_price": 10.0 + i,
                "high_price": 12.0 + i,
                "low_price": 9.0 + i,
                "close_price": 11.0 + i,
                "total_volume": 1000,
                "vwap": 10.5 + i,
                "tick_count": 10,
                "day_return": 0.1,
                "realized_volatility": 0.02,
                "first_tick_at": NOW - timedelta(hours=5),
                "last_tick_at": NOW - timedelta(minutes=1),
                "sma_20": 11.0,
                "sma_50": None,
                "rsi": 55.0,
                "bollinger_upper": 12.0,
                "bollinger_lower": 10.0,
            }
        )
    return pd.DataFrame(rows, columns=list(DAILY_COLUMNS))


def test_a_clean_summary_passes_with_score_1():
    validation = validate(_summary(), suites.daily_suite(DAY, 30, NOW))

    assert _failed(validation) == []
    assert validation.score == 1.0


BAD_SUMMARIES = {
    "high below low": (
        {"high_price": 8.0},
        "expect_column_pair_values_a_to_be_greater_than_b(column_A='high_price'",
    ),
    "null close": ({"close_price": None}, "expect_column_values_to_not_be_null(column='close_price'"),
    "negative volume": ({"total_volume": -5}, "expect_column_values_to_be_between(column='total_volume'"),
    "symbol off pattern": ({"symbol": "a b"}, "expect_column_values_to_match_regex(column='symbol'"),
    "low price out of range": ({"low_price": -1.0}, "expect_column_values_to_be_between(column='low_price'"),
    "row of another day": (
        {"day": DAY + timedelta(days=1)},
        "expect_column_values_to_be_in_set(column='day'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SUMMARIES))
def test_a_summary_breaking_one_row_expectation_fails_it(case):
    changes, expectation = BAD_SUMMARIES[case]
    frame = _summary()
    for column, value in changes.items():
        frame[column] = frame[column].astype(object)
        frame.at[1, column] = value

    validation = validate(frame, suites.daily_suite(DAY, 30, NOW))

    assert [f for f in validation.critical if f.startswith(expectation)], validation.critical
    assert validation.score == pytest.approx(2 / 3)


def test_a_summary_whose_ticks_differ_from_the_streams_count_fails_whole():
    validation = validate(_summary(), suites.daily_suite(DAY, 31, NOW))

    assert [f.split("(")[0] for f in validation.critical] == ["expect_column_sum_to_be_between"]
    assert "observed 30" in validation.critical[0]
    assert validation.score == 0.0


def test_an_empty_summary_fails():
    validation = validate(_summary().iloc[0:0], suites.daily_suite(DAY, 0, NOW))

    assert any(f.startswith("expect_table_row_count_to_be_between") for f in validation.critical)
    assert validation.score == 0.0


def test_a_stale_summary_is_a_warning():
    validation = validate(_summary(), suites.daily_suite(DAY, 30, NOW + suites.DAY_MAX_AGE * 2))

    assert validation.critical == []
    assert [w.split("(")[0] for w in validation.warnings] == ["expect_column_max_to_be_between"]


def test_the_result_renders_as_a_data_docs_page():
    validation = validate(_summary(), suites.daily_suite(DAY, 31, NOW), f"daily_summary {DAY}")

    html = validation.html()
    assert f"daily_summary {DAY}" in html
    assert html.lstrip().lower().startswith("<!doctype html") and suites.DAILY in html
    assert "expect_column_sum_to_be_between" in html or "sum" in html.lower()
    assert validation.to_json()["success"] is False
