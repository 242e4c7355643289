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
from app.metrics import PipelineMetrics
from app.quality.ticks import check_batch
from app.quality.validation import Validation
from app.schemas.processed import TICK_ROW
from app.sinks.lake_layout import PROCESSED_MARKET_DATA, Dataset

# The Arrow type of each row kind (app/schemas: TICK_ROW, DAILY_ROW).
ARROW_TYPES = {
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "string": pa.string(),
    "float": pa.float64(),
    "integer": pa.int64(),
    "date": pa.date32(),
}


def arrow_schema(row: tuple[tuple[str, str], ...]) -> pa.Schema:
    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in row])


SCHEMA = arrow_schema(TICK_ROW)


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


def put_whole(s3, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
    """`data` as one PUT (atomic in S3: a reader sees the old object or this one), checked against its MD5."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
        Metadata=metadata or {},
    )


def parquet_bytes(table: pa.Table, compression: str) -> bytes:
    body = io.BytesIO()
    pq.write_table(table, body, compression=compression)
    return body.getvalue()


def to_table(rows: list[tuple]) -> pa.Table:
    """TICK_ROW tuples as an Arrow table of `SCHEMA`, in (time, symbol) order."""
    columns = list(zip(*sorted(rows, key=lambda row: (row[0], row[1])), strict=True))
    return pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


class LakeWriter:
    """Buffers rows with their Kafka positions (`add`), writes them per Kafka partition and hour on `flush`;
    `keys` lists what it wrote.

    Each flush's rows (those both sinks stored since the last commit, in arrival order) are validated with
    the tick suite first (app/quality) and its score set on `metrics`; `validations` keeps the results.
    A batch that fails is written all the same: the score and its alert report it.
    """

    def __init__(
        self,
        s3,
        bucket: str,
        dataset: Dataset = PROCESSED_MARKET_DATA,
        *,
        metrics: PipelineMetrics | None = None,
        validate: bool = True,
    ) -> None:
        if (dataset.format, dataset.compression) != ("parquet", "snappy"):
            raise ValueError(f"{dataset.name} is {dataset.format}/{dataset.compression}, not parquet/snappy")
        self.s3, self.bucket, self.dataset = s3, bucket, dataset
        self.metrics, self.validate = metrics, validate
        self.keys: list[str] = []
        self.rows_written = 0
        self.validations: list[Validation] = []
        self._buffer: list[tuple[int, int, tuple]] = []

    def add(self, rows: list[tuple], positions: list[tuple[int, int]]) -> None:
        """`rows` and the (Kafka partition, offset) each came from."""
        self._buffer.extend((p, offset, row) for (p, offset), row in zip(positions, rows, strict=True))

    def flush(self) -> None:
        if self.validate and self._buffer:
            rows = [row for _, _, row in self._buffer]
            self.validations.append(check_batch(rows, self.dataset.name, self.metrics))
        groups: dict[tuple[int, datetime], list[tuple[int, tuple]]] = defaultdict(list)
        for partition, offset, row in self._buffer:
            groups[partition, row[0].replace(minute=0, second=0, microsecond=0)].append((offset, row))
        for (partition, hour), held in sorted(groups.items()):
            first, last = min(offset for offset, _ in held), max(offset for offset, _ in held)
            key = self.dataset.key(hour, f"ticks-p{partition:04d}-{first:019d}.parquet")
            data = parquet_bytes(to_table([row for _, row in held]), self.dataset.compression)
            held_range = {"kafka-partition": partition, "first-offset": first, "last-offset": last}
            put_whole(self.s3, self.bucket, key, data, {name: str(v) for name, v in held_range.items()})
            self.keys.append(key)
            self.rows_written += len(held)
            metrics.lake_written(self.dataset.bucket.suffix, self.dataset.name, len(data))
        self._buffer.clear()
