"""Daily batch benchmark: the Spark job's aggregation vs DuckDB computing the same summary from the same
files.

A day of synthetic processed ticks (--ticks over --symbols, random prices per symbol) is written with pyarrow
as Parquet/snappy in the lake's layout (one object per hour and Kafka partition) into a local directory. Each
round runs the job's own code (app/batch/aggregate.py summarize, local Spark as `make run` starts it:
local[2], 1g driver) and DuckDB (2 threads, the same SQL semantics) over those files, alternating so noise
hits both; the first Spark round also pays JIT warm-up, so the table shows each engine's best round. Both
results are compared column by column before any figure is printed.

    PYTHONPATH=. $VENV/bin/python benchmarks/batch_bench.py [--ticks 2000000] [--symbols 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from app.batch import aggregate
from app.local import spark as local_spark
from app.schemas.daily import DAILY_COLUMNS
from app.sinks.lake import SCHEMA
from app.sinks.lake_layout import PROCESSED_MARKET_DATA

DAY = date(2026, 3, 2)
PARTITIONS = 4  # Kafka partitions: objects per hour
TOLERANCE = 1e-9

# arg_max_null: the last tick's indicators even when absent (arg_max would skip to the last present one).
DUCKDB_SQL = """
WITH ticks AS (
    SELECT *, ln(price / lag(price) OVER (PARTITION BY symbol ORDER BY time, trade_key)) AS log_return
    FROM read_parquet($files)
), days AS (
    SELECT symbol,
        arg_min(price, (time, trade_key)) AS open_price, max(price) AS high_price, min(price) AS low_price,
        arg_max(price, (time, trade_key)) AS close_price, sum(volume) AS total_volume,
        sum(price * volume) AS turnover, count(*) AS tick_count,
        sqrt(sum(log_return * log_return)) AS realized_volatility,
        min(time) AS first_tick_at, max(time) AS last_tick_at,
        arg_max_null(sma_20, (time, trade_key)) AS sma_20, arg_max_null(sma_50, (time, trade_key)) AS sma_50,
        arg_max_null(rsi, (time, trade_key)) AS rsi,
        arg_max_null(bollinger_upper, (time, trade_key)) AS bollinger_upper,
        arg_max_null(bollinger_lower, (time, trade_key)) AS bollinger_lower
    FROM ticks GROUP BY symbol
)
SELECT $day::DATE AS day, symbol, open_price, high_price, low_price, close_price, total_volume,
    CASE WHEN total_volume > 0 THEN turnover / total_volume END AS vwap, tick_count,
    close_price / open_price - 1 AS day_return, realized_volatility, first_tick_at, last_tick_at,
    sma_20, sma_50, rsi, bollinger_upper, bollinger_lower
FROM days ORDER BY symbol
"""


def write_day(directory: Path, ticks: int, symbols: int, seed: int = 7) -> list[Path]:
    """`ticks` processed ticks over the day as the lake writer lays them out; returns the files."""
    rng = np.random.default_rng(seed)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    per_hour = ticks // 24
    paths = []
    for hour in range(24):
        n = per_hour if hour < 23 else ticks - per_hour * 23
        millis = np.sort(rng.integers(hour * 3_600_000, (hour + 1) * 3_600_000, n))
        symbol = rng.integers(0, symbols, n)
        price = 10 + symbol * 0.5 + np.abs(rng.normal(0, 1, n)).round(4)
        with_indicators = rng.random(n) < 0.9
        sma = np.where(with_indicators, price * 0.999, np.nan)
        table = pa.table(
            {
                "time": pa.array(start.timestamp() * 1000 + millis, pa.float64())
                .cast(pa.int64())
                .cast(SCHEMA.field("time").type),
                "symbol": pa.array([f"S{s:04d}" for s in symbol]),
                "price": price,
                "volume": rng.integers(1, 1000, n),
                "bid": price - 0.01,
                "ask": price + 0.01,
                "bid_size": rng.integers(1, 100, n),
                "ask_size": rng.integers(1, 100, n),
                "sma_20": pa.array(sma, from_pandas=True),
                "sma_50": pa.array(sma, from_pandas=True),
                "rsi": pa.array(np.where(with_indicators, 50.0, np.nan), from_pandas=True),
                "bollinger_upper": pa.array(sma + 1, from_pandas=True),
                "bollinger_lower": pa.array(sma - 1, from_pandas=True),
                "processed_at": pa.array([start] * n, SCHEMA.field("processed_at").type),
                "data_source": pa.array(["bench"] * n),
                "trade_key": pa.array([f"seq:{hour}:{i}" for i in range(n)]),
            },
            schema=SCHEMA,
        )
        at = start.replace(hour=hour)
        for partition in range(PARTITIONS):
            key = PROCESSED_MARKET_DATA.key(at, f"ticks-p{partition:04d}-{hour:019d}.parquet")
            path = directory / key
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(
                table.slice(partition * n // PARTITIONS, n // PARTITIONS + 1), path, compression="snappy"
            )
            paths.append(path)
    return paths


def spark_round(spark, paths: list[Path]) -> pd.DataFrame:
    ticks = spark.read.schema(aggregate.tick_schema()).parquet(*(f"file://{p}" for p in paths))
    return aggregate.collect(aggregate.summarize(ticks, DAY))


def duckdb_round(paths: list[Path]) -> pd.DataFrame:
    with duckdb.connect(config={"threads": 2}) as conn:
        query = conn.execute(DUCKDB_SQL, {"files": [str(p) for p in paths], "day": DAY.isoformat()})
        frame = query.df()
    frame["day"] = frame["day"].dt.date
    for column in ("first_tick_at", "last_tick_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def differences(spark: pd.DataFrame, duck: pd.DataFrame) -> list[str]:
    if list(spark["symbol"]) != list(duck["symbol"]):
        return ["the engines summarize different symbols"]
    found = []
    for column in DAILY_COLUMNS:
        left, right = spark[column].tolist(), duck[column].tolist()
        for symbol, a, b in zip(spark["symbol"], left, right, strict=True):
            same = (
                math.isclose(a, b, rel_tol=TOLERANCE) or (math.isnan(a) and math.isnan(b))
                if isinstance(a, float) and isinstance(b, float)
                else a == b
            )
            if not same:
                found.append(f"{column} of {symbol}: Spark {a!r}, DuckDB {b!r}")
                break
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=2_000_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wh-batch-bench-") as workdir:
        started = time.monotonic()
        paths = write_day(Path(workdir), args.ticks, args.symbols)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"wrote {args.ticks} ticks, {len(paths)} objects, {size / 2**20:.1f} MiB "
            f"in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
        spark = local_spark.start("http://127.0.0.1:1")  # no s3a: these are local files
        timings: dict[str, list[float]] = {"Spark (app/batch)": [], "DuckDB": []}
        try:
            for round_ in range(args.rounds):
                for name, run in (
                    ("Spark (app/batch)", lambda: spark_round(spark, paths)),
                    ("DuckDB", lambda: duckdb_round(paths)),
                ):
                    began = time.perf_counter()
                    result = run()
                    timings[name].append(time.perf_counter() - began)
                    if name.startswith("Spark"):
                        spark_result = result
                    else:
                        wrong = differences(spark_result, result)
                        if wrong:
                            print("the engines disagree: " + "; ".join(wrong), file=sys.stderr)
                            return 1
                print(
                    f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in timings.items()),
                    file=sys.stderr,
                )
        finally:
            local_spark.stop(spark)
    best = {name: min(times) for name, times in timings.items()}
    baseline = best["DuckDB"]
    print(f"{'engine':<20}{'ticks':>10}{'symbols':>9}{'best s':>9}{'ticks/s':>12}{'vs DuckDB':>11}")
    for name, seconds in best.items():
        print(
            f"{name:<20}{args.ticks:>10}{len(spark_result):>9}{seconds:>9.2f}{args.ticks / seconds:>12.0f}"
            f"{seconds / baseline:>10.2f}x"
        )
    print(f"same summary from both engines ({len(DAILY_COLUMNS)} columns, relative tolerance {TOLERANCE:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
