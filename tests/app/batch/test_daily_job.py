"""The daily batch on real Spark (local mode, s3a) over a lake on the moto emulator and a real PostgreSQL:
the summary matches one computed tick by tick, lands in the lake and the database, a rerun replaces the
day, and a failed critical expectation writes the report and nothing else."""

from __future__ import annotations

import io
import json
from datetime import UTC, timedelta

import pandas as pd
import psycopg
import pyarrow.parquet as pq
import pytest

from app import migrations
from app.batch import daily_job
from app.metrics import sample
from app.schemas.daily import DAILY_COLUMNS
from app.sinks.lake_layout import DAILY_AGGREGATES, QUALITY_REPORTS
from tests.app.batch import lake_days
from tests.app.batch.lake_days import DAY, START
from tests.conftest import unique_bucket, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
AS_OF = START + timedelta(days=1, hours=2)  # the scheduled run: 02:00 the next day
SUMMARY_KEY = DAILY_AGGREGATES.key(START, daily_job.SUMMARY_OBJECT)


@pytest.fixture
def lake(aws_emulator, postgres):
    s3 = aws_emulator.client("s3")
    dsn = postgres.create_database(unique_name("batch"))
    migrations.apply(dsn)
    return s3, unique_bucket(s3, "lake"), dsn


def _table(dsn: str) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(DAILY_COLUMNS)} FROM daily_aggregates ORDER BY day, symbol")
        return pd.DataFrame(cur.fetchall(), columns=list(DAILY_COLUMNS))


def _lake_summary(s3, bucket: str) -> pd.DataFrame:
    body = s3.get_object(Bucket=bucket, Key=SUMMARY_KEY)["Body"].read()
    return pq.read_table(io.BytesIO(body)).to_pandas()


def _assert_same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    found = found.sort_values("symbol").reset_index(drop=True)
    expected = expected.sort_values("symbol").reset_index(drop=True)
    assert list(found.columns) == list(DAILY_COLUMNS)
    for column in DAILY_COLUMNS:
        left, right = found[column].tolist(), expected[column].tolist()
        if column.endswith("_at"):
            left = [pd.Timestamp(v).tz_convert(UTC) for v in left]
            right = [pd.Timestamp(v).tz_convert(UTC) for v in right]
        if isinstance(right[0], float) or column in ("sma_50", "realized_volatility"):
            assert left == pytest.approx(right, rel=1e-12, nan_ok=True), column
        else:
            assert left == right, column


def test_a_day_is_summarized_into_the_lake_and_the_database(lake, spark):
    s3, bucket, dsn = lake
    rows = lake_days.ticks()
    keys = lake_days.store(s3, bucket, dsn, rows)
    next_day = lake_days.ticks(START + timedelta(days=1), per_symbol=5)
    lake_days.store(s3, bucket, dsn, next_day)  # another day's partition: not read, not counted
    logged: list[str] = []

    result = daily_job.run_day(spark, s3, bucket, dsn, DAY, as_of=AS_OF, log=logged.append)

    expected = lake_days.reference_summary(rows, DAY)
    assert len(keys) > 20 and sorted(result.objects.keys) == sorted(keys)
    assert result.stream_ticks == len(rows) == result.objects.rows
    _assert_same(result.summary, expected)
    _assert_same(_table(dsn), expected)
    _assert_same(_lake_summary(s3, bucket), expected)
    assert result.validation.passed and result.validation.score == 1.0
    assert (
        sample("pipeline_data_quality_score", {"pipeline": "daily-batch", "dataset": "daily_aggregates"})
        == 1.0
    )
    report = json.loads(s3.get_object(Bucket=bucket, Key=result.report_keys[0])["Body"].read())
    assert report["success"] is True and report["suite_name"] == "daily_summary"
    html = s3.get_object(Bucket=bucket, Key=result.report_keys[1])["Body"].read().decode()
    assert "daily_summary" in html and html.lstrip().lower().startswith("<!doctype html")
    assert result.report_keys[1].startswith(QUALITY_REPORTS.partition_prefix(START, "day"))


def test_a_rerun_replaces_the_day_and_only_that_day(lake, spark):
    s3, bucket, dsn = lake
    first = lake_days.ticks()
    keys = lake_days.store(s3, bucket, dsn, first)
    daily_job.run_day(spark, s3, bucket, dsn, DAY, as_of=AS_OF)
    other_day = START.date() - timedelta(days=1)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO daily_aggregates SELECT %s, symbol, open_price, high_price, low_price,"
            " close_price, total_volume, vwap, tick_count, day_return, realized_volatility,"
            " first_tick_at - interval '1 day', last_tick_at - interval '1 day',"
            " sma_20, sma_50, rsi, bollinger_upper, bollinger_lower FROM daily_aggregates WHERE day = %s",
            (other_day, DAY),
        )
    # The day again with one symbol fewer (its rows gone from the lake and the database) and new prices.
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    second = [row[:2] + (row[2] * 2,) + row[3:] for row in lake_days.ticks(symbols=lake_days.SYMBOLS[:2])]
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM market_data_ts")
    lake_days.store(s3, bucket, dsn, second)

    daily_job.run_day(spark, s3, bucket, dsn, DAY, as_of=AS_OF)

    table = _table(dsn)
    _assert_same(table[table["day"] == DAY], lake_days.reference_summary(second, DAY))
    assert sorted(table[table["day"] == other_day]["symbol"]) == sorted(lake_days.SYMBOLS)
    _assert_same(_lake_summary(s3, bucket), lake_days.reference_summary(second, DAY))


def test_a_failed_critical_expectation_fails_the_day_and_writes_only_the_report(lake, spark):
    s3, bucket, dsn = lake
    rows = lake_days.ticks()
    lake_days.store(s3, bucket, dsn, rows)
    with psycopg.connect(dsn) as conn:  # the stream stored fewer ticks than the lake holds
        conn.execute("DELETE FROM market_data_ts WHERE symbol = 'ACME' AND trade_key = 'seq:00003'")

    with pytest.raises(daily_job.DayFailed) as failed:
        daily_job.run_day(spark, s3, bucket, dsn, DAY, as_of=AS_OF)

    message = str(failed.value)
    assert "expect_column_sum_to_be_between" in message and f"observed {len(rows)}" in message
    assert _table(dsn).empty
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=DAILY_AGGREGATES.prefix)
    report_prefix = QUALITY_REPORTS.partition_prefix(START, "day")
    report = s3.get_object(Bucket=bucket, Key=f"{report_prefix}daily_summary.json")["Body"].read()
    assert json.loads(report)["success"] is False
    assert (
        sample("pipeline_data_quality_score", {"pipeline": "daily-batch", "dataset": "daily_aggregates"})
        == 0.0
    )


def test_the_cluster_entry_point_needs_its_environment_and_database(capsys, monkeypatch):
    monkeypatch.delenv("WH_ENV", raising=False)
    monkeypatch.delenv("WH_DATABASE_DSN", raising=False)
    with pytest.raises(SystemExit) as exited:
        daily_job.main(["--date", "2026-03-02"])
    assert exited.value.code == 2
    assert "WH_ENV" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        daily_job.main(["--date", "yesterday", "--env", "dev", "--dsn", "x"])
    assert "is not a date" in capsys.readouterr().err
