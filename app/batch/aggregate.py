"""The daily summary per symbol (app/schemas/daily.py DAILY_ROW) of a day of processed ticks, in Spark.

One shuffle by symbol: the window that pairs each tick with the one before it (for the log returns) and the
aggregation share it. Open and close are the first and last tick by (time, trade_key), picked as the min
and max of a struct, so no second sort is needed.
"""

from __future__ import annotations

from datetime import date

from app.schemas.daily import DAILY_COLUMNS
from app.schemas.processed import TICK_ROW

INDICATORS = ("sma_20", "sma_50", "rsi", "bollinger_upper", "bollinger_lower")


def tick_schema():
    """TICK_ROW as a Spark schema: the lake's columns Spark reads (others in a file are not read)."""
    from pyspark.sql import types as T

    kinds = {
        "timestamp": T.TimestampType(),
        "string": T.StringType(),
        "float": T.DoubleType(),
        "integer": T.LongType(),
    }
    return T.StructType([T.StructField(name, kinds[kind]) for name, kind in TICK_ROW])


def summarize(ticks, day: date):
    """The DAILY_ROW columns of `ticks` (a DataFrame of tick_schema()), one row per symbol."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("symbol").orderBy("time", "trade_key")
    returns = ticks.withColumn("log_return", F.log(F.col("price") / F.lag("price").over(order)))
    summary = returns.groupBy("symbol").agg(
        F.min(F.struct("time", "trade_key", "price")).alias("first"),
        F.max(F.struct("time", "trade_key", "price", *INDICATORS)).alias("last"),
        F.max("price").alias("high_price"),
        F.min("price").alias("low_price"),
        F.sum("volume").alias("total_volume"),
        F.sum(F.col("price") * F.col("volume")).alias("turnover"),
        F.count(F.lit(1)).alias("tick_count"),
        F.sqrt(F.sum(F.col("log_return") * F.col("log_return"))).alias("realized_volatility"),
    )
    columns = {
        "day": F.lit(day),
        "symbol": F.col("symbol"),
        "open_price": F.col("first.price"),
        "high_price": F.col("high_price"),
        "low_price": F.col("low_price"),
        "close_price": F.col("last.price"),
        "total_volume": F.col("total_volume"),
        "vwap": F.when(F.col("total_volume") > 0, F.col("turnover") / F.col("total_volume")),
        "tick_count": F.col("tick_count"),
        "day_return": F.col("last.price") / F.col("first.price") - 1,
        "realized_volatility": F.col("realized_volatility"),
        "first_tick_at": F.col("first.time"),
        "last_tick_at": F.col("last.time"),
        **{name: F.col(f"last.{name}") for name in INDICATORS},
    }
    return summary.select(*(columns[name].alias(name) for name in DAILY_COLUMNS))


def collect(summary):
    """A summary DataFrame as pandas (through Arrow), times as UTC instants, in symbol order."""
    import pandas as pd

    frame = summary.toPandas()
    for column in ("first_tick_at", "last_tick_at"):  # Spark hands timestamps over in its session zone, UTC
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame[list(DAILY_COLUMNS)].sort_values("symbol", ignore_index=True)
