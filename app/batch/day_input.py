"""The Parquet objects of one day of the processed lake, checked before Spark reads them.

Every object under market-data/year=/month=/day=/ is looked at through its footer only (a ranged GET of
its tail): it must be Parquet, hold the processed tick's columns with their types and hold only rows of
that day (the `time` column's statistics; its values when a row group has none). What fails the day, and
why, is decided here:

- a corrupt or truncated object, a column missing or of another type, rows of another day: the day is
  rejected (`DayRejected`, naming each object and what is wrong) and nothing is written. Leaving an object
  out would make a partial summary, and rows of another day belong to a summary this run does not write.
- a day with no objects: rejected too; an empty summary would replace a good one if the partition was lost.
- a column the processed tick does not have (a newer writer): a warning; Spark reads the known columns.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyarrow_hotfix  # noqa: F401  CVE-2023-47248: refuses the arrow.py_extension_type a crafted file names

from app.sinks.lake import SCHEMA
from app.sinks.lake_layout import PROCESSED_MARKET_DATA

_INSPECTORS = 8  # footer reads in flight


class DayRejected(RuntimeError):
    """The day cannot be summarized; `problems` names each object and what is wrong with it."""

    def __init__(self, day: date, problems: list[str]) -> None:
        self.day, self.problems = day, problems
        super().__init__(f"{day}: not summarized: " + "; ".join(problems))


@dataclass
class DayObjects:
    day: date
    bucket: str
    keys: list[str] = field(default_factory=list)
    rows: int = 0  # as the footers count them
    warnings: list[str] = field(default_factory=list)

    def uris(self, scheme: str = "s3a") -> list[str]:
        return [f"{scheme}://{self.bucket}/{key}" for key in self.keys]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_prefix(day: date) -> str:
    return PROCESSED_MARKET_DATA.partition_prefix(day_bounds(day)[0], "day")


class _RangeReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object that fetches only the byte ranges read from it."""

    def __init__(self, s3, bucket: str, key: str, size: int) -> None:
        self.s3, self.bucket, self.key, self.size, self.position = s3, bucket, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        end = min(self.position + len(buffer), self.size)
        if end <= self.position:
            return 0
        rng = f"bytes={self.position}-{end - 1}"
        data = self.s3.get_object(Bucket=self.bucket, Key=self.key, Range=rng)["Body"].read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _type_problem(name: str, found: pa.DataType, expected: pa.DataType) -> str | None:
    if found == expected:
        return None
    if pa.types.is_timestamp(expected) and pa.types.is_timestamp(found) and found.tz in ("UTC", "+00:00"):
        return None  # another unit of the same instant reads the same in Spark
    return f"column {name} is {found}, expected {expected}"


def _time_range(parquet: pq.ParquetFile) -> tuple[datetime, datetime] | None:
    """Earliest and latest `time` in the object: from the row groups' statistics, else from the column."""
    index = parquet.schema_arrow.get_field_index("time")
    lows, highs = [], []
    for group in range(parquet.metadata.num_row_groups):
        stats = parquet.metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            values = parquet.read(columns=["time"])["time"]
            low, high = pc.min(values).as_py(), pc.max(values).as_py()
            return None if low is None else (low, high)
        lows.append(stats.min)
        highs.append(stats.max)
    if not lows:
        return None
    as_utc = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in (min(lows), max(highs))]
    return as_utc[0], as_utc[1]


def _inspect(s3, bucket: str, key: str, size: int, day: date) -> tuple[int, list[str], list[str]]:
    """(rows, problems, warnings) of one object."""
    where = f"s3://{bucket}/{key}"
    try:
        parquet = pq.ParquetFile(_RangeReader(s3, bucket, key, size))
        found = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        return 0, [f"{where}: not a readable Parquet object ({size} bytes): {exc}"], []
    problems, warnings = [], []
    for expected in SCHEMA:
        if expected.name not in found.names:
            problems.append(f"{where}: has no column {expected.name}")
        elif problem := _type_problem(expected.name, found.field(expected.name).type, expected.type):
            problems.append(f"{where}: {problem}")
    extra = [name for name in found.names if name not in SCHEMA.names]
    if extra:
        warnings.append(f"{where}: column(s) {', '.join(extra)} not in the processed tick: not read")
    if not problems:
        start, end = day_bounds(day)
        span = _time_range(parquet)
        if span is not None and (span[0] < start or span[1] >= end):
            problems.append(
                f"{where}: holds rows from {span[0].isoformat()} to {span[1].isoformat()}, "
                f"outside {day.isoformat()} (UTC)"
            )
    return parquet.metadata.num_rows, problems, warnings


def find(s3, bucket: str, day: date, log: Callable[[str], None] = lambda _: None) -> DayObjects:
    """The day's objects, each checked; raises DayRejected when the day cannot be summarized whole."""
    prefix = day_prefix(day)
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        listed.extend((item["Key"], item["Size"]) for item in page.get("Contents", []))
    found = DayObjects(day, bucket)
    parquet = [(key, size) for key, size in listed if key.endswith(".parquet")]
    others = [key for key, _ in listed if not key.endswith(".parquet")]
    found.warnings += [f"s3://{bucket}/{key}: not a .parquet object: not read" for key in others]
    if not parquet:
        raise DayRejected(day, [f"no Parquet objects under s3://{bucket}/{prefix}"])
    log(f"checking {len(parquet)} object(s) under s3://{bucket}/{prefix} ...")
    problems: list[str] = []
    with ThreadPoolExecutor(_INSPECTORS) as pool:
        checked = pool.map(lambda item: _inspect(s3, bucket, *item, day), parquet)
        for (key, _), (rows, wrong, warned) in zip(parquet, checked, strict=True):
            problems += wrong
            found.warnings += warned
            found.keys.append(key)
            found.rows += rows
    if problems:
        raise DayRejected(day, problems)
    return found
