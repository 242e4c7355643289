"""The printed summary of a local pipeline run: counts, dead letters by reason, lake objects, and the
quality and latency figures against their targets."""

from __future__ import annotations

from app.local.pipeline import Outcome
from app.metrics import LATENCY_TARGET_SECONDS as LATENCY_TARGET
from app.metrics import QUALITY_TARGET


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
