"""The printed summary of a local pipeline run: counts, dead letters by reason, lake objects, the quality
and latency figures against their targets; then the daily batch's summary rows of a few symbols."""

from __future__ import annotations

from app.batch.daily_job import DayResult
from app.local.pipeline import LATENCY_TARGET, QUALITY_TARGET, Outcome

DAILY_SYMBOLS_SHOWN = 5


def print_summary(outcome: Outcome, bucket: str, elapsed: float) -> None:
    rate = outcome.produced / outcome.produce_seconds if outcome.produce_seconds else 0.0
    lines = [
        ("produced (synthetic connector)", outcome.produced, f"{outcome.produce_seconds:.1f}s, {rate:.0f}/s"),
        ("malformed (injected)", outcome.malformed, ""),
        ("processed (Flink, committed)", outcome.processed, f"job done at {outcome.flink_seconds:.1f}s"),
        ("rows loaded into PostgreSQL", outcome.loaded, f"{outcome.inserted} new"),
        ("rows in market_data_ts", outcome.table_rows, ""),
        ("dead letters", sum(outcome.dead_letters.values()), ""),
        *((f"  {reason}", count, "") for reason, count in sorted(outcome.dead_letters.items())),
        ("Parquet objects (snappy)", len(outcome.lake_keys), f"{outcome.lake_rows} rows in s3://{bucket}/"),
    ]
    for label, count, note in lines:
        print(f"{label:<34}{count:>10}  {note}".rstrip())
    for key in outcome.lake_keys:
        print(f"  {key}")
    quality_ok = outcome.quality > QUALITY_TARGET
    latency_ok = outcome.p95_latency < LATENCY_TARGET
    print(
        f"{'data quality (valid / total)':<34}{outcome.quality:>10.5f}  target > {QUALITY_TARGET:g}: "
        f"{'PASS' if quality_ok else 'FAIL'}"
    )
    print(
        f"{'quality score (tick suite, lake)':<34}{outcome.lake_quality:>10.5f}  "
        f"Great Expectations on each batch written, target > {QUALITY_TARGET:g}: "
        f"{'PASS' if outcome.lake_quality > QUALITY_TARGET else 'FAIL'}"
    )
    print(
        f"{'p95 end-to-end latency (s)':<34}{outcome.p95_latency:>10.2f}  event time -> row in PostgreSQL, "
        f"target < {LATENCY_TARGET:g} s: {'PASS' if latency_ok else 'FAIL'}"
    )
    print(f"{'total elapsed (s)':<34}{elapsed:>10.1f}")


def print_daily(results: list[DayResult], bucket: str) -> None:
    header = ("symbol", "open", "high", "low", "close", "volume", "vwap", "ticks", "return", "volatility")
    for result in results:
        rows = result.summary.head(DAILY_SYMBOLS_SHOWN)
        print(
            f"daily summary {result.day} ({len(result.summary)} symbols; s3://{bucket}/{result.summary_key})"
        )
        print("  {:<8}{:>11}{:>11}{:>11}{:>11}{:>10}{:>11}{:>7}{:>9}{:>11}".format(*header))
        for row in rows.itertuples():
            volatility = (
                "" if row.realized_volatility != row.realized_volatility else f"{row.realized_volatility:.6f}"
            )
            vwap = "" if row.vwap != row.vwap else f"{row.vwap:.4f}"
            print(
                f"  {row.symbol:<8}{row.open_price:>11.4f}{row.high_price:>11.4f}{row.low_price:>11.4f}"
                f"{row.close_price:>11.4f}{row.total_volume:>10d}{vwap:>11}{row.tick_count:>7d}"
                f"{row.day_return:>+9.4%}{volatility:>11}"
            )
        report = result.report_keys[1]
        print(
            f"{'daily batch quality (daily_summary)':<34}{result.validation.score:>10.5f}  "
            f"{result.stream_ticks} ticks in the stream; Data Docs s3://{bucket}/{report}"
        )
