"""Tick insert benchmark: the loader's COPY + ON CONFLICT path vs a plain executemany INSERT baseline.

Both write the same batches of unique ticks into market_data_ts (migrated from sql/) on one local
PostgreSQL 15; the table is emptied before each run, and rounds alternate between the two paths so
machine noise hits both. The table shows the median rate of the rounds and the ratio.

    PYTHONPATH=. $VENV/bin/python benchmarks/tick_insert_bench.py [--rows 50000] [--batch 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg

from app import migrations
from app.local.postgres import Postgres
from app.schemas.processed import TICK_COLUMNS as COLUMNS
from app.sinks.timescale import insert_rows

BASELINE_SQL = (
    f"INSERT INTO market_data_ts ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    " ON CONFLICT DO NOTHING"
)


def make_rows(count: int) -> list[tuple]:
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    return [
        (
            start + timedelta(milliseconds=i // 50),
            f"SYM{i % 50}",
            100 + i % 97 / 10,
            100,
            99.9,
            100.1,
            5,
            7,
            *(100.0, 100.0, 50.0, 101.0, 99.0),  # sma_20, sma_50, rsi, bollinger upper/lower
            start,
            "bench",
            f"seq:{i}",
        )
        for i in range(count)
    ]


def baseline_insert(conn, rows: list[tuple]) -> int:
    with conn.cursor() as cur:
        cur.executemany(BASELINE_SQL, rows)
    conn.commit()
    return len(rows)


def timed_run(dsn: str, rows: list[tuple], batch: int, insert) -> float:
    with psycopg.connect(dsn) as conn:
        conn.execute("TRUNCATE market_data_ts")
        conn.commit()
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            insert(conn, rows[i : i + batch])
        elapsed = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM market_data_ts").fetchone()[0]
    if stored != len(rows):
        raise SystemExit(f"{insert.__name__} stored {stored} of {len(rows)} rows")
    return len(rows) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000, help="unique ticks per run (default 50000)")
    parser.add_argument("--batch", type=int, default=2000, help="rows per transaction (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per path (default 3)")
    args = parser.parse_args(argv)

    rows = make_rows(args.rows)
    rates: dict[str, list[float]] = {"baseline": [], "loader": []}
    with Postgres() as postgres:
        migrations.apply(postgres.dsn)
        for n in range(args.rounds):
            rates["baseline"].append(timed_run(postgres.dsn, rows, args.batch, baseline_insert))
            rates["loader"].append(timed_run(postgres.dsn, rows, args.batch, insert_rows))
            latest = {path: f"{rate[-1]:>9,.0f}" for path, rate in rates.items()}
            print(f"  round {n + 1}: baseline {latest['baseline']} rows/s, loader {latest['loader']} rows/s")

    baseline, loader = (statistics.median(rates[k]) for k in ("baseline", "loader"))
    print(f"\n{'path (' + str(args.rows) + ' rows, batches of ' + str(args.batch) + ')':<46} {'rows/s':>10}")
    print(f"{'executemany INSERT .. ON CONFLICT (baseline)':<46} {baseline:>10,.0f}")
    print(f"{'COPY to staging + INSERT .. ON CONFLICT':<46} {loader:>10,.0f}")
    print(f"\nratio loader/baseline: {loader / baseline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
