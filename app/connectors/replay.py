"""Replay recorded records from a file (CSV, JSON Lines or Parquet) at recorded or accelerated speed.

`speed` 1.0 keeps the recorded gaps between `time_field` values, 10 plays ten times faster, 0 as fast as
possible. `rebase: true` shifts times so the first record is "now" (a demo of old data through live
checks). The cursor is the count of rows consumed, so a restart continues with the next row. Rows go
through an optional field mapping (CSV values are text: map them with `as: float` etc.).
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from app.connectors.mapping import Mapping, MappingError, apply
from app.connectors.producer import Rejected
from app.connectors.runtime import Batch, Source


class ReplayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path
    format: Literal["csv", "jsonl", "parquet"] | None = None  # default: from the file suffix
    speed: float = Field(0.0, ge=0)
    time_field: str = "timestamp"  # mapped field, epoch ms
    rebase: bool = False
    batch_size: int = Field(1000, ge=1)
    mapping: Mapping | None = None

    def file_format(self) -> str:
        fmt = self.format or {
            ".csv": "csv",
            ".jsonl": "jsonl",
            ".ndjson": "jsonl",
            ".parquet": "parquet",
        }.get(self.path.suffix.lower())
        if fmt is None:
            raise ValueError(f"{self.path}: cannot tell the format from the suffix; set options.format")
        return fmt


def _rows(path: Path, fmt: str) -> Iterator[object]:
    if fmt == "parquet":
        import pyarrow.parquet as pq
        import pyarrow_hotfix  # noqa: F401  CVE-2023-47248: refuses arrow.py_extension_type columns

        for chunk in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            yield from chunk.to_pylist()
    elif fmt == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    else:
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        yield Rejected(f"malformed JSON line: {exc}", line)


class ReplaySource(Source):
    Options = ReplayOptions

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        o = self.options
        if not o.path.is_file():
            raise FileNotFoundError(f"{self.name}: replay file {o.path} not found (set options.path)")
        mapping = o.mapping or None
        done = (cursor or {}).get("rows", 0)
        first_time = started = shift = None
        batch: list = []
        for n, row in enumerate(_rows(o.path, o.file_format())):
            if n < done:
                continue
            if not isinstance(row, Rejected) and mapping is not None:
                try:
                    row = apply(mapping, row, None)
                except MappingError as exc:
                    row = Rejected(f"row {n + 1}: {exc}", row)
            ts = row.get(o.time_field) if isinstance(row, dict) else None
            if isinstance(ts, int):
                if first_time is None:
                    first_time, started = ts, time.monotonic()
                    shift = int(time.time() * 1000) - ts if o.rebase else 0
                if shift:
                    row = {**row, o.time_field: ts + shift}
                if o.speed:
                    wait = (ts - first_time) / 1000 / o.speed - (time.monotonic() - started)
                    if wait > 0:
                        if batch:
                            yield Batch(batch, {"rows": n})
                            batch = []
                        await asyncio.sleep(wait)
            batch.append(row)
            if len(batch) >= o.batch_size:
                yield Batch(batch, {"rows": n + 1})
                batch = []
        if batch:
            yield Batch(batch, {"rows": n + 1})
