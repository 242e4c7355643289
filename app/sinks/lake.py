"""The Parquet lake writer: processed ticks as Parquet (snappy) objects under their event hour's partition.

Keys follow app.sinks.lake_layout (`PROCESSED_MARKET_DATA.key`: market-data/year=/month=/day=/hour=/). An
object holds the rows of one Kafka partition and one hour from one flush, and is named after that Kafka
partition and its first offset there (`ticks-p<partition>-<first offset>.parquet`; the last offset and row
count are in its metadata). A flush starts at the loader's committed offsets, and a replay after a crash
starts at the same ones: its objects get the same names and replace what the crashed run wrote, whether
they hold more rows than that (the replay read further) or fewer (the rest follow in later flushes, whose
first offsets are again those the crashed run used).
Each object is one PUT (atomic in S3, checked against its MD5), never a multipart upload, so a reader sees
a whole object or none.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections import defaultdict
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow_hotfix  # noqa: F401  CVE-2023-47248: refuses the arrow.py_extension_type a crafted file names

from app import metrics
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
    """Buffers rows with their Kafka positions (`add`), writes them per Kafka partition and hour on `flush`;
    `keys` lists what it wrote."""

    def __init__(self, s3, bucket: str, dataset: Dataset = PROCESSED_MARKET_DATA) -> None:
        if (dataset.format, dataset.compression) != ("parquet", "snappy"):
            raise ValueError(f"{dataset.name} is {dataset.format}/{dataset.compression}, not parquet/snappy")
        self.s3, self.bucket, self.dataset = s3, bucket, dataset
        self.keys: list[str] = []
        self.rows_written = 0
        self._buffer: list[tuple[int, int, tuple]] = []

    def add(self, rows: list[tuple], positions: list[tuple[int, int]]) -> None:
        """`rows` and the (Kafka partition, offset) each came from."""
        self._buffer.extend((p, offset, row) for (p, offset), row in zip(positions, rows, strict=True))

    def flush(self) -> None:
        groups: dict[tuple[int, datetime], list[tuple[int, tuple]]] = defaultdict(list)
        for partition, offset, row in self._buffer:
            groups[partition, row[0].replace(minute=0, second=0, microsecond=0)].append((offset, row))
        for (partition, hour), held in sorted(groups.items()):
            first, last = min(offset for offset, _ in held), max(offset for offset, _ in held)
            key = self.dataset.key(hour, f"ticks-p{partition:04d}-{first:019d}.parquet")
            body = io.BytesIO()
            pq.write_table(to_table([row for _, row in held]), body, compression=self.dataset.compression)
            data = body.getvalue()
            held_range = {"kafka-partition": partition, "first-offset": first, "last-offset": last}
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
                Metadata={name: str(value) for name, value in held_range.items()},
            )
            self.keys.append(key)
            self.rows_written += len(held)
            metrics.lake_written(self.dataset.bucket.suffix, self.dataset.name, len(data))
        self._buffer.clear()
