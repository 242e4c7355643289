"""The expectation suites (Great Expectations 1.x): processed ticks and the daily summary.

Bounds come from the record schemas (app/schemas: the symbol pattern, the price range, sizes >= 0), not
from the requirements' sketch, whose price ceiling and symbol pattern would reject instruments the schemas
accept (docs/requirements.md#batch-quality-and-monitoring, Open). Each expectation has a severity:
CRITICAL ones fail the daily run; WARNING ones are reported (see app/quality/validation.py for the score).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import great_expectations.expectations as gxe
from great_expectations import ExpectationSuite
from great_expectations.expectations.metadata_types import FailureSeverity

from app.schemas import PRICE_ABOVE, PRICE_BELOW, SYMBOL_PATTERN
from app.schemas.daily import DAILY_COLUMNS
from app.schemas.processed import TICK_COLUMNS

TICKS = "processed_ticks"
DAILY = "daily_summary"
# The column the tick suite adds to a batch: the same symbol's time on the row before, in batch order.
PREVIOUS_TIME = "previous_time"
# A tick batch is stale when its newest tick is older than this when written.
TICK_MAX_AGE = timedelta(hours=1)
# A day's summary is stale when its newest tick is older than this at the end of the day (or now).
DAY_MAX_AGE = timedelta(hours=6)
CLOCK_SKEW = timedelta(minutes=5)

WARNING = FailureSeverity.WARNING  # the others are CRITICAL, GE's default


def _price_range(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(
        column=column, min_value=PRICE_ABOVE, max_value=PRICE_BELOW, strict_min=True, strict_max=True
    )


def _fresh(column: str, as_of: datetime, max_age: timedelta) -> gxe.Expectation:
    return gxe.ExpectColumnMaxToBeBetween(
        column=column, min_value=as_of - max_age, max_value=as_of + CLOCK_SKEW, severity=WARNING
    )


def tick_suite(as_of: datetime) -> ExpectationSuite:
    """What each batch of processed ticks the sinks write must hold (`as_of`: when it is written)."""
    required = ("time", "symbol", "price", "volume", "processed_at", "trade_key")
    return ExpectationSuite(
        name=TICKS,
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(TICK_COLUMNS), exact_match=False),
            *(gxe.ExpectColumnValuesToNotBeNull(column=name) for name in required),
            _price_range("price"),
            gxe.ExpectColumnValuesToMatchRegex(column="symbol", regex=SYMBOL_PATTERN),
            gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="time",
                column_B=PREVIOUS_TIME,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                severity=WARNING,
            ),
            _fresh("time", as_of, TICK_MAX_AGE),
        ],
    )


def daily_suite(day: date, stream_ticks: int, as_of: datetime) -> ExpectationSuite:
    """What a day's summary must hold: `stream_ticks` is how many ticks of the day the stream stored."""
    required = ("day", "symbol", "open_price", "high_price", "low_price", "close_price", "total_volume")
    return ExpectationSuite(
        name=DAILY,
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(DAILY_COLUMNS), exact_match=True),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeInSet(column="day", value_set=[day]),
            *(gxe.ExpectColumnValuesToNotBeNull(column=name) for name in (*required, "tick_count")),
            gxe.ExpectColumnValuesToMatchRegex(column="symbol", regex=SYMBOL_PATTERN),
            *(_price_range(name) for name in ("open_price", "high_price", "low_price", "close_price")),
            gxe.ExpectColumnValuesToBeBetween(column="total_volume", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="tick_count", min_value=1),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="high_price", column_B="low_price", or_equal=True
            ),
            gxe.ExpectColumnSumToBeBetween(
                column="tick_count", min_value=stream_ticks, max_value=stream_ticks
            ),
            _fresh("last_tick_at", as_of, DAY_MAX_AGE),
        ],
    )
