"""A day of processed ticks as the stream leaves it: Parquet objects in a bucket on the emulator (written by
the lake writer) and the same rows in market_data_ts; and a pandas reference of the day's summary."""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from app.schemas.daily import DAILY_COLUMNS
from app.schemas.processed import TICK_COLUMNS
from app.sinks.lake import LakeWriter, put_whole, to_table
from app.sinks.timescale import Loaded, insert_rows

DAY = date(2026, 3, 2)
START = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
SYMBOLS = ("ACME", "BRK.B", "EUR/USD")


def ticks(
    day_start: datetime = START, per_symbol: int = 60, symbols=SYMBOLS, span: timedelta = timedelta(days=1)
) -> list[tuple]:
    """TICK_ROW tuples over `span` from `day_start` (by default the whole day, every hour), a price walk per
    symbol; the last 20 have indicators. Two ticks of each symbol share a millisecond (told apart by
    trade_key)."""
    rows = []
    step = timedelta(
        milliseconds=(span - timedelta(seconds=len(symbols))) // timedelta(milliseconds=1) // per_symbol
    )
    for s, symbol in enumerate(symbols):
        for i in range(per_symbol):
            at = day_start + step * i + timedelta(seconds=s)
            if i == 7:
                at = rows[-1][0]  # same millisecond as the tick before
            price = 50.0 * (s + 1) + 3 * math.sin(i / 5) + i / 10
            indicators = (
                (price - 1, price - 2, 40 + i % 30, price + 2, price - 3)
                if i >= per_symbol - 20
                else (None,) * 5
            )
            rows.append(
                (
                    at,
                    symbol,
                    price,
                    100 + 7 * i % 50,
                    None,
                    None,
                    None,
                    None,
                    *indicators,
                    day_start + timedelta(days=1),
                    "test",
                    f"seq:{i:05d}",
                )
            )
    return rows


def store(s3, bucket: str, dsn: str, rows: list[tuple], partitions: int = 1) -> list[str]:
    """`rows` into the lake (the lake writer, spread over `partitions` Kafka partitions) and the database."""
    writer = LakeWriter(s3, bucket, validate=False)
    writer.add(Loaded(rows, [(n % partitions, n) for n in range(len(rows))], [b""] * len(rows)))
    writer.flush()
    with psycopg.connect(dsn) as conn:
        insert_rows(conn, rows)
    return writer.keys


def put_table(s3, bucket: str, key: str, table: pa.Table) -> None:
    body = io.BytesIO()
    pq.write_table(table, body, compression="snappy")
    put_whole(s3, bucket, key, body.getvalue())


def tick_table(rows: list[tuple]) -> pa.Table:
    return to_table(rows)


def reference_summary(rows: list[tuple], day: date) -> pd.DataFrame:
    """The day's summary computed the plain way, tick by tick."""
    frame = pd.DataFrame.from_records(rows, columns=list(TICK_COLUMNS)).sort_values(
        ["symbol", "time", "trade_key"]
    )
    out = []
    for symbol, g in frame.groupby("symbol", sort=True):
        prices, volumes = g["price"].to_numpy(), g["volume"].to_numpy()
        logs = [math.log(b / a) for a, b in zip(prices[:-1], prices[1:], strict=True)]
        last = g.iloc[-1]
        out.append(
            {
                "day": day,
                "symbol": symbol,
                "open_price": prices[0],
                "high_price": prices.max(),
                "low_price": prices.min(),
                "close_price": prices[-1],
                "total_volume": int(volumes.sum()),
                "vwap": float((prices * volumes).sum() / volumes.sum()),
                "tick_count": len(g),
                "day_return": prices[-1] / prices[0] - 1,
                "realized_volatility": math.sqrt(sum(x * x for x in logs)) if logs else None,
                "first_tick_at": g["time"].iloc[0],
                "last_tick_at": last["time"],
                **{
                    name: last[name]
                    for name in ("sma_20", "sma_50", "rsi", "bollinger_upper", "bollinger_lower")
                },
            }
        )
    return pd.DataFrame(out, columns=list(DAILY_COLUMNS))
