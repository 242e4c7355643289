"""The daily batch after a local pipeline run: each day the run's ticks fall on, summarized on local Spark
over the lake on the emulator (app/batch/daily_job.py), for `wh pipeline`'s summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from app.batch import daily_job
from app.local.spark import gateway_pid, local_spark

_DAY = re.compile(r"/year=(\d{4})/month=(\d\d)/day=(\d\d)/")


def days_of(keys: list[str]) -> list[date]:
    """The days whose partitions hold these lake objects."""
    return sorted({date(*map(int, m.groups())) for key in keys if (m := _DAY.search(key))})


def run_days(
    s3, bucket: str, dsn: str, keys: list[str], log: Callable[[str], None]
) -> list[daily_job.DayResult]:
    """Summarize each day of `keys`; raises DayRejected/DayFailed for a day that cannot be."""
    days = days_of(keys)
    if not days:
        return []
    log(f"daily batch (Spark, local mode, s3a on {s3.meta.endpoint_url}) for {', '.join(map(str, days))} ...")
    with local_spark(s3.meta.endpoint_url) as spark:
        log(f"Spark {spark.version} in local mode, gateway JVM (pid {gateway_pid()})")
        return [daily_job.run_day(spark, s3, bucket, dsn, day, log=lambda m: log(f"  {m}")) for day in days]
