"""Bad input in the day's partition, on the emulator: the job names the object and what is wrong, and
writes no summary (neither to the lake nor to the database); an added column is read past with a
warning. Which cases reject the day and why: app/batch/day_input.py."""

from __future__ import annotations

import io
from datetime import timedelta

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app import migrations
from app.batch import daily_job
from app.batch.day_input import DayRejected, day_prefix
from app.sinks.lake_layout import DAILY_AGGREGATES, PROCESSED_MARKET_DATA
from tests.app.batch import lake_days
from tests.app.batch.lake_days import DAY, START
from tests.conftest import unique_bucket, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
AS_OF = START + timedelta(days=1, hours=2)


@pytest.fixture(scope="module")
def database(postgres):
    dsn = postgres.create_database(unique_name("badin"))
    migrations.apply(dsn)
    return dsn


@pytest.fixture
def day(aws_emulator, database):
    """A bucket holding a good day (its rows also in the database, emptied first)."""
    s3 = aws_emulator.client("s3")
    bucket = unique_bucket(s3, "bad")
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM market_data_ts")
        conn.execute("DELETE FROM daily_aggregates")
    rows = lake_days.ticks(per_symbol=30)
    keys = lake_days.store(s3, bucket, database, rows)
    return s3, bucket, database, rows, keys


def _nothing_written(s3, bucket: str, dsn: str) -> None:
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=DAILY_AGGREGATES.prefix)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM daily_aggregates").fetchone()[0] == 0


def _rejected(spark, s3, bucket, dsn) -> str:
    with pytest.raises(DayRejected) as rejected:
        daily_job.run_day(spark, s3, bucket, dsn, DAY, as_of=AS_OF)
    _nothing_written(s3, bucket, dsn)
    return str(rejected.value)


def _body(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_truncated_object_rejects_the_day_naming_it(day, spark):
    s3, bucket, dsn, _, keys = day
    s3.put_object(Bucket=bucket, Key=keys[3], Body=_body(s3, bucket, keys[3])[:-40])

    message = _rejected(spark, s3, bucket, dsn)

    assert f"s3://{bucket}/{keys[3]}: not a readable Parquet object" in message
    assert message.count("s3://") == 1  # the sound objects are not blamed


def test_a_corrupt_object_rejects_the_day_naming_it(day, spark):
    s3, bucket, dsn, _, keys = day
    data = bytearray(_body(s3, bucket, keys[2]))
    data[4:200] = b"\x17" * 196  # the first column chunk's pages; the footer stays readable
    s3.put_object(Bucket=bucket, Key=keys[2], Body=bytes(data))

    message = _rejected(spark, s3, bucket, dsn)

    assert f"s3://{bucket}/{keys[2]}: Spark cannot read it: java.io.IOException: " in message


def test_a_day_with_no_data_is_rejected(aws_emulator, database, spark):
    s3 = aws_emulator.client("s3")
    bucket = unique_bucket(s3, "empty")

    message = _rejected(spark, s3, bucket, database)

    assert f"no Parquet objects under s3://{bucket}/{day_prefix(DAY)}" in message


def test_rows_of_another_day_reject_the_day_naming_the_object(day, spark):
    s3, bucket, dsn, _, _ = day
    strays = lake_days.ticks(START - timedelta(days=1), per_symbol=3)
    key = PROCESSED_MARKET_DATA.key(START, "ticks-p0009-0000000000000000000.parquet")
    lake_days.put_table(s3, bucket, key, lake_days.tick_table(strays))

    message = _rejected(spark, s3, bucket, dsn)

    assert f"s3://{bucket}/{key}: holds rows from 2026-03-01T" in message
    assert "outside 2026-03-02 (UTC)" in message


def test_a_column_of_another_type_rejects_the_day_naming_it(day, spark):
    s3, bucket, dsn, _, keys = day
    table = lake_days.tick_table(lake_days.ticks(per_symbol=2))
    as_text = table.set_column(
        table.schema.get_field_index("price"), "price", table["price"].cast(pa.string())
    )
    lake_days.put_table(s3, bucket, keys[0], as_text)

    message = _rejected(spark, s3, bucket, dsn)

    assert f"s3://{bucket}/{keys[0]}: column price is string, expected double" in message


def test_a_missing_column_rejects_the_day_naming_it(day, spark):
    s3, bucket, dsn, _, keys = day
    table = lake_days.tick_table(lake_days.ticks(per_symbol=2)).drop(["volume"])
    lake_days.put_table(s3, bucket, keys[1], table)

    message = _rejected(spark, s3, bucket, dsn)

    assert f"s3://{bucket}/{keys[1]}: has no column volume" in message


def test_a_new_column_is_read_past_with_a_warning(day, spark):
    s3, bucket, dsn, rows, keys = day
    table = pq.read_table(io.BytesIO(_body(s3, bucket, keys[0])))
    table = table.append_column("venue", pa.array(["XNAS"] * table.num_rows))
    lake_days.put_table(s3, bucket, keys[0], table)
    logged: list[str] = []

    result = daily_job.run_day(spark, s3, bucket, dsn, DAY, as_of=AS_OF, log=logged.append)

    assert any(
        f"s3://{bucket}/{keys[0]}: column(s) venue not in the processed tick" in line for line in logged
    )
    expected = lake_days.reference_summary(rows, DAY)
    assert result.summary["tick_count"].sum() == len(rows)
    assert result.summary["close_price"].tolist() == pytest.approx(expected["close_price"].tolist())


def test_the_preflight_passes_on_a_reachable_lake_and_migrated_database_and_names_what_fails(
    aws_emulator, database, postgres, capsys
):
    s3 = aws_emulator.client("s3")
    bucket = unique_bucket(s3, "check")
    assert daily_job.check(s3, bucket, database) == 0
    assert f"s3://{bucket} and the database answer" in capsys.readouterr().out

    assert daily_job.check(s3, bucket + "-missing", database) == 1
    assert "ClientError" in capsys.readouterr().err

    unmigrated = postgres.create_database(unique_name("nomig"))
    assert daily_job.check(s3, bucket, unmigrated) == 1
    assert 'relation "daily_aggregates" does not exist' in capsys.readouterr().err
