"""The enriched tick on market-data-processed and the row the sinks write from it.

The Flink market-data job (app/flink/sql/market_data.sql) writes a tick (with the vendor's trade id or
sequence when it has one), its indicators (absent until their window fills) and when it wrote it.
TICK_ROW is the row both sinks store, in column order (market_data_ts of sql/001_market_data.sql and
004_trade_identity.sql); app/schemas/tables.py describes it beside the other stored tables.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def trade_key(tick: Mapping) -> str:
    """What tells a trade from another of the same symbol and millisecond, as the market-data job's dedup
    does (SymbolIndicators.tradeKey): the vendor's trade id, else its sequence, else price and volume.
    Prefixed by kind, so a trade id never equals another trade's sequence. `tick`: a processed tick's
    fields (app/schemas/dicts.py), as the loader reads it."""
    if (trade_id := tick.get("trade_id")) is not None:
        return f"id:{trade_id}"
    if (sequence := tick.get("sequence")) is not None:
        return f"seq:{sequence}"
    return f"pv:{tick['price']!r}/{tick['volume']}"


def tick_row(tick: Mapping) -> tuple:
    """A processed tick's fields as a TICK_ROW tuple (the optional ones may be absent)."""
    get = tick.get
    return (
        datetime.fromtimestamp(tick["timestamp"] / 1000, UTC),
        tick["symbol"],
        tick["price"],
        tick["volume"],
        get("bid"),
        get("ask"),
        get("bid_size"),
        get("ask_size"),
        get("sma_20"),
        get("sma_50"),
        get("rsi_14"),
        get("bollinger_upper"),
        get("bollinger_lower"),
        tick["processed_at"],
        tick["source"],
        trade_key(tick),
    )
