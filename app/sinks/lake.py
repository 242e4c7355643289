"""The Parquet lake writer: processed ticks as Parquet (snappy) objects under their event hour's partition.

Keys follow app.sinks.lake_layout (`PROCESSED_MARKET_DATA.key`: market-data/year=/month=/day=/hour=/). An
object is named after what it holds (first and last event time in ms, row count), so writing the same
rows again replaces it instead of adding a copy.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from app.schemas.processed import TICK_ROW
from app.sinks.lake_layout import PROCESSED_MARKET_DATA, Dataset

# The Arrow type of each TICK_ROW kind.
_ARROW = {
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "string": pa.string(),
    "float": pa.float64(),
    "integer": pa.int64(),
}
SCHEMA = pa.schema([(name, _ARROW[kind]) for name, kind in TICK_ROW])


def ensure_bucket(s3, bucket: str, encryption: str) -> bool:
    """Create `bucket` (default encryption `encryption`) unless it exists; True if it was created."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    s3.create_bucket(Bucket=bucket)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": encryption}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    return True


def to_table(rows: list[tuple]) -> pa.Table:
    """TICK_ROW tuples as an Arrow table of `SCHEMA`, in (time, symbol) order."""
    columns = list(zip(*sorted(rows, key=lambda row: (row[0], row[1])), strict=True))
    return pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


class LakeWriter:
    """Buffers rows (`add`), writes them per hour partition on `flush`; `keys` lists what it wrote."""

    def __init__(self, s3, bucket: str, dataset: Dataset = PROCESSED_MARKET_DATA) -> None:
        if (dataset.format, dataset.compression) != ("parquet", "snappy"):
            raise ValueError(f"{dataset.name} is {dataset.format}/{dataset.compression}, not parquet/snappy")
        self.s3, self.bucket, self.dataset = s3, bucket, dataset
        self.keys: list[str] = []
        self.rows_written = 0
        self._buffer: list[tuple] = []

    def add(self, rows: list[tuple]) -> None:
        self._buffer.extend(rows)

    def flush(self) -> None:
        by_hour: dict[datetime, list[tuple]] = defaultdict(list)
        for row in self._buffer:
            by_hour[row[0].replace(minute=0, second=0, microsecond=0)].append(row)
        for hour, rows in sorted(by_hour.items()):
            table = to_table(rows)
            times = [row[0] for row in rows]
            first, last = (int(t.timestamp() * 1000) for t in (min(times), max(times)))
            key = self.dataset.key(hour, f"ticks-{first}-{last}-{len(rows)}.parquet")
            body = io.BytesIO()
            pq.write_table(table, body, compression=self.dataset.compression)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.getvalue())
            self.keys.append(key)
            self.rows_written += len(rows)
        self._buffer.clear()
