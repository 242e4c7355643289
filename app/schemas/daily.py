"""The daily summary per symbol that the batch (app/batch) computes from a day of processed ticks.

DAILY_ROW is its one definition, in column order: the Spark job's output, the Parquet objects under
daily-aggregates/ (app/sinks/lake_layout.DAILY_AGGREGATES) and the database table daily_aggregates
(sql/005_daily_aggregates.sql) all follow it. The OHLC, volume and count names are those of the
daily_market_summary view (sql/001), so both read alike.

- open/close: the price of the day's first/last tick by (time, trade_key); high/low: max/min price.
- vwap: sum(price * volume) / sum(volume), absent when the day's volume is 0.
- day_return: close / open - 1.
- realized_volatility: sqrt(sum of squared log returns between consecutive ticks), not annualised;
  absent with a single tick.
- the indicators are those of the day's last tick (absent while its windows were not full).
"""

from __future__ import annotations

# (column, kind): kind as in app/schemas/processed.py TICK_ROW, plus "date" (a calendar day, UTC).
DAILY_ROW: tuple[tuple[str, str], ...] = (
    ("day", "date"),
    ("symbol", "string"),
    ("open_price", "float"),
    ("high_price", "float"),
    ("low_price", "float"),
    ("close_price", "float"),
    ("total_volume", "integer"),
    ("vwap", "float"),
    ("tick_count", "integer"),
    ("day_return", "float"),
    ("realized_volatility", "float"),
    ("first_tick_at", "timestamp"),
    ("last_tick_at", "timestamp"),
    ("sma_20", "float"),
    ("sma_50", "float"),
    ("rsi", "float"),
    ("bollinger_upper", "float"),
    ("bollinger_lower", "float"),
)
DAILY_COLUMNS = tuple(name for name, _ in DAILY_ROW)
