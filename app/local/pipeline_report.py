"""The printed summary of a local pipeline run: counts, dead letters by reason, lake objects, the quality
and latency figures against their targets, and the news path with its sentiment per symbol."""

from __future__ import annotations

from app.local.pipeline import LATENCY_TARGET, QUALITY_TARGET, NewsOutcome, Outcome


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
        f"{'p95 end-to-end latency (s)':<34}{outcome.p95_latency:>10.2f}  event time -> row in PostgreSQL, "
        f"target < {LATENCY_TARGET:g} s: {'PASS' if latency_ok else 'FAIL'}"
    )
    print(f"{'total elapsed (s)':<34}{elapsed:>10.1f}")


def print_news(news: NewsOutcome, bucket: str) -> None:
    lines = [
        ("news articles (local NewsAPI)", news.published, ""),
        ("  on news-raw (newsapi connector)", news.delivered, ""),
        ("scored (news job, committed)", news.scored, f"job done at {news.seconds:.1f}s"),
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
