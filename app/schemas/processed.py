"""The enriched tick on market-data-processed and the row the sinks write from it.

The Flink market-data job (app/flink/sql/market_data.sql) writes a tick (with the vendor's trade id or
sequence when it has one), its indicators (absent until their window fills) and when it wrote it.
TICK_ROW is the row both sinks store, in column order (market_data_ts of sql/001_market_data.sql and
004_trade_identity.sql); app/schemas/tables.py describes it beside the other stored tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.schemas import PriceTick


class ProcessedTick(PriceTick):
    sma_20: float | None = None
    sma_50: float | None = None
    rsi_14: float | None = None
    bollinger_upper: float | None = None
    bollinger_lower: float | None = None
    processed_at: datetime


# (column, kind): kind is one of "timestamp" (UTC, millisecond), "string", "float", "integer".
TICK_ROW: tuple[tuple[str, str], ...] = (
    ("time", "timestamp"),
    ("symbol", "string"),
    ("price", "float"),
    ("volume", "integer"),
    ("bid", "float"),
    ("ask", "float"),
    ("bid_size", "integer"),
    ("ask_size", "integer"),
    ("sma_20", "float"),
    ("sma_50", "float"),
    ("rsi", "float"),
    ("bollinger_upper", "float"),
    ("bollinger_lower", "float"),
    ("processed_at", "timestamp"),
    ("data_source", "string"),
    ("trade_key", "string"),
)
TICK_COLUMNS = tuple(name for name, _ in TICK_ROW)


def trade_key(tick: ProcessedTick) -> str:
    """What tells a trade from another of the same symbol and millisecond, as the market-data job's dedup
    does (SymbolIndicators.tradeKey): the vendor's trade id, else its sequence, else price and volume.
    Prefixed by kind, so a trade id never equals another trade's sequence."""
    if tick.trade_id is not None:
        return f"id:{tick.trade_id}"
    if tick.sequence is not None:
        return f"seq:{tick.sequence}"
    return f"pv:{tick.price!r}/{tick.volume}"


def tick_row(tick: ProcessedTick) -> tuple:
    """A processed tick as a TICK_ROW tuple."""
    when = datetime.fromtimestamp(tick.timestamp / 1000, UTC)
    quote = (tick.bid, tick.ask, tick.bid_size, tick.ask_size)
    indicators = (tick.sma_20, tick.sma_50, tick.rsi_14, tick.bollinger_upper, tick.bollinger_lower)
    return (
        when,
        tick.symbol,
        tick.price,
        tick.volume,
        *quote,
        *indicators,
        tick.processed_at,
        tick.source,
        trade_key(tick),
    )
