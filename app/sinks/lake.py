"""The lake writer: a load's records under its dataset's partitions (app/sinks/lake_layout.py), as Parquet
(snappy) of its table's rows or as gzip JSON lines of the messages as they came (news/, social/).

An object holds the rows of one Kafka partition and one partition of the dataset (an hour of ticks, a day
of news, a month of filings) from one flush, and is named after that Kafka partition and its first offset
there (`<stem>-p<partition>-<first offset>.parquet` or `.json.gz`; the last offset and row count are in its
metadata). A flush starts, in each Kafka partition, at its loader group's committed offset, and whoever
replays a partition after a crash (the restarted loader, or the replica the group gives it to) starts at
the same one: its objects get the same names and replace what the crashed run wrote, whether they hold
more rows than that (the replay read further) or fewer (the rest follow in later flushes, whose first
offsets are again those the crashed run used). Replicas own different Kafka partitions, so their objects
never share a name, and one gives a partition up only after flushing and committing it.
Each object is one PUT (atomic in S3, checked against its MD5), never a multipart upload, so a reader sees
a whole object or none.
"""

from __future__ import annotations

import base64
import gzip
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
from app.schemas.tables import TICKS, Column
from app.sinks.loads import LOADS, Load

# The Arrow type of each column kind (app/schemas/tables.py; "date" for app/schemas/daily.py DAILY_ROW).
_ARROW = {
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "string": pa.string(),
    "float": pa.float64(),
    "integer": pa.int64(),
    "strings": pa.list_(pa.string()),
    "date": pa.date32(),
}
FORMATS = {("parquet", "snappy"): "parquet", ("json", "gzip"): "json.gz"}


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([(name, _ARROW[kind]) for name, kind in columns])


SCHEMA = arrow_schema(TICKS.columns)  # the processed ticks' objects, which the daily batch reads


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


def to_table(rows: list[tuple], columns: tuple[Column, ...] = TICKS.columns) -> pa.Table:
    """Rows of `columns` as an Arrow table of their schema, in (time, second column) order."""
    schema = arrow_schema(columns)
    columns_of_rows = list(zip(*sorted(rows, key=lambda row: (row[0], row[1])), strict=True))
    return pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns_of_rows, schema, strict=True)],
        schema=schema,
    )


class LakeWriter:
    """Buffers a load's batches (`add`, the loader's on_rows), writes them per Kafka partition and dataset
    partition on `flush`; `keys` lists what it wrote.

    Processed ticks are validated first, each flush's rows (those both sinks stored since the last commit)
    with the tick suite (app/quality), its score set on `metrics`; `validations` keeps the results. A batch
    that fails is written all the same: the score and its alert report it.
    """

    def __init__(
        self,
        s3,
        bucket: str,
        load: Load = LOADS["market-data-processed"],
        *,
        metrics: PipelineMetrics | None = None,
        validate: bool = True,
    ) -> None:
        dataset = load.dataset
        if (dataset.format, dataset.compression) not in FORMATS:
            raise ValueError(f"{dataset.name} is {dataset.format}/{dataset.compression}: not a lake format")
        self.s3, self.bucket, self.load, self.dataset = s3, bucket, load, dataset
        self.metrics, self.validate = metrics, validate and load.table is TICKS
        self.keys: list[str] = []
        self.rows_written = 0
        self.validations: list[Validation] = []
        self._buffer: list[tuple[int, int, tuple, bytes]] = []

    def add(self, loaded) -> None:
        """A loaded batch (app.sinks.timescale.Loaded): its rows, positions and message values."""
        self._buffer.extend(
            (p, offset, row, value)
            for (p, offset), row, value in zip(loaded.positions, loaded.rows, loaded.values, strict=True)
        )

    def flush(self) -> None:
        if self.validate and self._buffer:
            rows = [row for _, _, row, _ in self._buffer]
            self.validations.append(check_batch(rows, self.dataset.name, self.metrics))
        groups: dict[tuple[int, datetime], list[tuple[int, tuple, bytes]]] = defaultdict(list)
        for partition, offset, row, value in self._buffer:
            groups[partition, self.dataset.partition_start(row[0])].append((offset, row, value))
        extension = FORMATS[self.dataset.format, self.dataset.compression]
        for (partition, start), held in sorted(groups.items()):
            first, last = min(offset for offset, _, _ in held), max(offset for offset, _, _ in held)
            key = self.dataset.key(start, f"{self.load.stem}-p{partition:04d}-{first:019d}.{extension}")
            data = self._body(sorted(held, key=lambda h: h[0]))
            held_range = {"kafka-partition": partition, "first-offset": first, "last-offset": last}
            put_whole(self.s3, self.bucket, key, data, {name: str(v) for name, v in held_range.items()})
            self.keys.append(key)
            self.rows_written += len(held)
            metrics.lake_written(self.dataset.bucket.suffix, self.dataset.name, len(data))
        self._buffer.clear()

    def _body(self, held: list[tuple[int, tuple, bytes]]) -> bytes:
        if self.dataset.format == "json":  # the messages as they came, one per line, in offset order
            return gzip.compress(b"".join(value.rstrip(b"\n") + b"\n" for _, _, value in held), mtime=0)
        rows = [row for _, row, _ in held]
        return parquet_bytes(to_table(rows, self.load.table.columns), self.dataset.compression)
