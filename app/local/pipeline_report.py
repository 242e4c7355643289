"""The printed summary of a local pipeline run: counts, dead letters by reason, lake objects, the quality
and latency figures against their targets as Prometheus has them (beside the run's own count), the Flink
job's figures through its recording rules, and the chart's path; the news path with its sentiment per
symbol; then the daily batch's summary rows of a few symbols."""

from __future__ import annotations

from pathlib import Path

from app.batch.daily_job import DayResult
from app.local.pipeline import NewsOutcome, Outcome
from app.local.pipeline_queries import PrometheusFigures
from app.metrics import LATENCY_TARGET_SECONDS as LATENCY_TARGET
from app.metrics import QUALITY_TARGET

DAILY_SYMBOLS_SHOWN = 5


def _number(value: float | None, digits: int) -> str:
    return "none" if value is None else f"{value:.{digits}f}"


def print_summary(
    outcome: Outcome, figures: PrometheusFigures, bucket: str, chart: tuple[Path, str], elapsed: float
) -> None:
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
    quality_ok = figures.quality is not None and figures.quality > QUALITY_TARGET
    latency_ok = figures.p95_latency is not None and figures.p95_latency < LATENCY_TARGET
    print(
        f"{'data quality (PromQL)':<34}{_number(figures.quality, 5):>10}  tick suite, stored batches; "
        "valid / total "
        f"(counted: {outcome.quality:.5f}), target > {QUALITY_TARGET:g}: {'PASS' if quality_ok else 'FAIL'}"
    )
    print(
        f"{'quality score (tick suite, lake)':<34}{outcome.lake_quality:>10.5f}  "
        f"Great Expectations on each batch written, target > {QUALITY_TARGET:g}: "
        f"{'PASS' if outcome.lake_quality > QUALITY_TARGET else 'FAIL'}"
    )
    print(
        f"{'p95 end-to-end latency (PromQL)':<34}{_number(figures.p95_latency, 2):>10}  event time to row in "
        f"PostgreSQL, from histogram buckets (counted: {outcome.p95_latency:.2f} s), target < "
        f"{LATENCY_TARGET:g} s: {'PASS' if latency_ok else 'FAIL'}"
    )
    print(f"{'Flink ticks emitted (PromQL)':<34}{_number(figures.flink_emitted, 0):>10}  recording rules")
    print(f"{'Flink dead letters (PromQL)':<34}{_number(figures.flink_dead_letters, 0):>10}")
    print(
        f"{'Flink p95 to indicators (PromQL)':<34}{_number(figures.flink_p95, 2):>10}  s, event time to "
        "emitted, the watermark's wait included"
    )
    path, symbol = chart
    print(f"{'chart (price, SMA, Bollinger, RSI)':<34}{symbol:>10}  {path}")
    print(f"{'total elapsed (s)':<34}{elapsed:>10.1f}")


def print_news(news: NewsOutcome, figures: PrometheusFigures, bucket: str) -> None:
    lines = [
        ("news articles (local NewsAPI)", news.published, ""),
        ("  on news-raw (newsapi connector)", news.delivered, ""),
        ("scored (news job, committed)", news.scored, f"job done at {news.seconds:.1f}s"),
        ("news job scored (PromQL)", _number(figures.news_scored, 0), "recording rules"),
        ("news job dead letters (PromQL)", _number(figures.news_dead_letters, 0), ""),
        (
            "news job p95 to scored (PromQL)",
            _number(figures.news_p95, 2),
            "s, ingest (the record's Kafka timestamp) to scored",
        ),
        ("rows loaded into news_sentiment_ts", news.loaded, f"{news.inserted} new"),
        ("news dead letters", sum(news.dead_letters.values()), ""),
        *((f"  {reason}", count, "") for reason, count in sorted(news.dead_letters.items())),
        (
            "news lake objects (gzip JSON)",
            len(news.lake_keys),
            f"{news.lake_rows} articles in s3://{bucket}/",
        ),
    ]
    for label, count, note in lines:
        print(f"{label:<34}{count:>10}  {note}".rstrip())
    for key in news.lake_keys:
        print(f"  {key}")
    print(f"{'sentiment per symbol':<34}{'articles':>10}  {'mean':>7} {'positive':>9} {'negative':>9}")
    for symbol, (count, mean, positive, negative) in sorted(news.by_symbol.items()):
        print(f"  {symbol:<32}{count:>10}  {mean:>+7.3f} {positive:>9} {negative:>9}")


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
