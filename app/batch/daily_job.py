"""The daily batch: one day of the processed Parquet lake -> the summary per symbol, in the lake and the DB.

The ScheduledSparkApplication's entry point: `spark-submit app/batch/daily_job.py [--date YYYY-MM-DD]`
(or `python -m app.batch.daily_job`), by default for yesterday (UTC). One run of a day:

1. checks the day's objects (app/batch/day_input.py): a day it cannot summarize whole is rejected;
2. Spark reads them through s3a and aggregates them (app/batch/aggregate.py);
3. the summary is validated (app/quality, suite daily_summary, against the ticks the stream stored in
   market_data_ts that day); the result and its Data Docs page go to quality-reports/ in the lake, the score
   to pipeline_data_quality_score{pipeline="daily-batch",dataset="daily_aggregates"};
4. a failed CRITICAL expectation fails the run (`DayFailed`) and nothing else is written; otherwise the day
   is replaced in one database transaction (daily_aggregates), inside which the lake's one summary object
   daily-aggregates/year=/month=/day=/daily-aggregates.parquet is PUT (atomic: a reader sees the old day or
   the new one). A failed PUT rolls the database back; a rerun replaces both.

The summary is one row per symbol, small enough to collect: a single PUT of it is atomic in S3, which
Spark's file committers on S3 (renames by copy) are not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa

from app.batch import aggregate, day_input
from app.batch.day_input import DayObjects, DayRejected
from app.metrics import PipelineMetrics
from app.quality import suites
from app.quality.validation import Validation, validate
from app.schemas.daily import DAILY_COLUMNS, DAILY_ROW
from app.sinks import lake_layout
from app.sinks.lake import arrow_schema, parquet_bytes, put_whole

PIPELINE = "daily-batch"
SUMMARY_OBJECT = "daily-aggregates.parquet"
DAILY_SCHEMA = arrow_schema(DAILY_ROW)
_S3A_OBJECT = re.compile(r"s3a://[^\s,;'\"\]]+?\.parquet")
_CAUSE = re.compile(r"Caused by: (\S+: .*)")


class DayFailed(RuntimeError):
    """A CRITICAL expectation failed on the day's summary; nothing was written but the report."""

    def __init__(self, day: date, validation: Validation, report: str) -> None:
        self.day, self.validation = day, validation
        failed = "; ".join(validation.critical)
        super().__init__(
            f"{day}: summary failed {len(validation.critical)} critical expectation(s): {failed} "
            f"(report: {report})"
        )


@dataclass
class DayResult:
    day: date
    objects: DayObjects
    summary: pd.DataFrame  # DAILY_COLUMNS, one row per symbol
    stream_ticks: int
    validation: Validation
    summary_key: str
    report_keys: tuple[str, str]  # (result JSON, Data Docs HTML)


def _read_summary(spark, objects: DayObjects) -> pd.DataFrame:
    """The day's summary, collected through Arrow; an object Spark cannot read rejects the day."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    ticks = spark.read.schema(aggregate.tick_schema()).parquet(*objects.uris())
    try:
        return aggregate.collect(aggregate.summarize(ticks, objects.day))
    except (Py4JJavaError, PySparkException) as exc:
        named = _S3A_OBJECT.search(str(exc))
        if named is None:
            raise
        # The first cause below Spark's own wrappers says what is wrong with the file.
        causes = [c.strip() for c in _CAUSE.findall(str(exc)) if not c.startswith("org.apache.spark.")]
        where = named.group(0).replace("s3a://", "s3://", 1)
        reason = causes[0] if causes else "see the Spark log"
        raise DayRejected(objects.day, [f"{where}: Spark cannot read it: {reason}"]) from exc


def stream_tick_count(dsn: str, day: date) -> int:
    """How many ticks of `day` the stream's loader stored in market_data_ts."""
    import psycopg

    start, end = day_input.day_bounds(day)
    with psycopg.connect(dsn) as conn:
        query = "SELECT count(*) FROM market_data_ts WHERE time >= %s AND time < %s"
        return conn.execute(query, (start, end)).fetchone()[0]


def _write_report(s3, bucket: str, day: date, validation: Validation) -> tuple[str, str]:
    at = day_input.day_bounds(day)[0]
    json_key = lake_layout.QUALITY_REPORTS.key(at, f"{suites.DAILY}.json")
    html_key = lake_layout.QUALITY_REPORTS.key(at, f"{suites.DAILY}.html")
    put_whole(s3, bucket, json_key, json.dumps(validation.to_json(), indent=1, default=str).encode())
    put_whole(s3, bucket, html_key, validation.html().encode())
    return json_key, html_key


def _replace_day(dsn: str, s3, bucket: str, day: date, summary: pd.DataFrame) -> str:
    """The day's rows replaced in daily_aggregates and the lake: one transaction, the PUT inside it."""
    import psycopg

    table = pa.Table.from_pandas(summary, schema=DAILY_SCHEMA, preserve_index=False)
    key = lake_layout.DAILY_AGGREGATES.key(day_input.day_bounds(day)[0], SUMMARY_OBJECT)
    with psycopg.connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM daily_aggregates WHERE day = %s", (day,))
        with cur.copy(f"COPY daily_aggregates ({', '.join(DAILY_COLUMNS)}) FROM STDIN") as copy:
            for row in table.to_pylist():
                copy.write_row([row[name] for name in DAILY_COLUMNS])
        put_whole(s3, bucket, key, parquet_bytes(table, lake_layout.DAILY_AGGREGATES.compression))
    return key


def run_day(
    spark,
    s3,
    bucket: str,
    dsn: str,
    day: date,
    *,
    as_of: datetime | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> DayResult:
    """Summarize `day` of the processed lake in `bucket` (see the module's steps); `as_of` (default now)
    is the time the summary's freshness is judged at, capped at the day's end."""
    objects = day_input.find(s3, bucket, day, log)
    for warning in objects.warnings:
        log(f"warning: {warning}")
    log(f"{len(objects.keys)} object(s), {objects.rows} ticks: aggregating with Spark ...")
    summary = _read_summary(spark, objects)
    stream_ticks = stream_tick_count(dsn, day)
    judged_at = min(as_of or datetime.now(UTC), day_input.day_bounds(day)[1])
    validation = validate(summary, suites.daily_suite(day, stream_ticks, judged_at), f"{suites.DAILY} {day}")
    report = _write_report(s3, bucket, day, validation)
    PipelineMetrics(PIPELINE).quality(lake_layout.DAILY_AGGREGATES.name, validation.score)
    for warning in validation.warnings:
        log(f"warning: expectation failed: {warning}")
    if not validation.passed:
        raise DayFailed(day, validation, f"s3://{bucket}/{report[1]}")
    key = _replace_day(dsn, s3, bucket, day, summary)
    log(f"{len(summary)} symbol(s) written to daily_aggregates and s3://{bucket}/{key}")
    return DayResult(day, objects, summary, stream_ticks, validation, key, report)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def check(s3, bucket: str, dsn: str) -> int:
    """The run's preflight (the chart's `helm test`): the lake bucket and the database answer, as the run's
    identity; says what failed."""
    import psycopg
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            conn.execute("SELECT 1 FROM daily_aggregates LIMIT 1")
    except (BotoCoreError, ClientError, psycopg.Error) as exc:
        print(f"daily_job --check: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"daily_job --check: s3://{bucket} and the database answer")
    return 0


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="daily_job", description=__doc__.split("\n\n")[0])
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    parser.add_argument("--date", type=_day, default=yesterday, help="the day (UTC) to summarize")
    parser.add_argument("--env", default=os.environ.get("WH_ENV"), help="environment (default $WH_ENV)")
    parser.add_argument("--dsn", default=os.environ.get("WH_DATABASE_DSN"), help="default $WH_DATABASE_DSN")
    parser.add_argument(
        "--check", action="store_true", help="only check that the lake bucket and the database answer"
    )
    args = parser.parse_args(argv)
    if not args.env or not args.dsn:
        parser.error(
            "the environment (--env / WH_ENV) and the database (--dsn / WH_DATABASE_DSN) are required"
        )
    bucket = lake_layout.bucket_name(args.env, lake_layout.PROCESSED_MARKET_DATA.bucket)
    if args.check:
        return check(boto3.client("s3"), bucket, args.dsn)
    from app.batch.session import session

    spark = session("cluster")
    try:
        run_day(spark, boto3.client("s3"), bucket, args.dsn, args.date, log=lambda m: print(m, flush=True))
    except (DayRejected, DayFailed) as exc:
        print(f"daily_job: {exc}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
