"""The lake writer validates each flush with the tick suite and exports its score, on the emulator: a batch
with bad rows is still written whole, and its score says how many rows were bad."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from app.metrics import PipelineMetrics, sample
from app.sinks.lake import LakeWriter
from app.sinks.timescale import Loaded
from tests.app.batch import lake_days
from tests.conftest import unique_bucket, unique_name

pytestmark = pytest.mark.integration


def _fresh_ticks() -> list[tuple]:
    """Ticks of the last ten minutes (the tick suite's freshness holds)."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    return lake_days.ticks(start, per_symbol=40, span=timedelta(minutes=9))


def _written_rows(s3, bucket: str, keys: list[str]) -> int:
    return sum(
        pq.read_metadata(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
        for k in keys
    )


def test_each_flush_is_validated_and_its_score_exported(aws_emulator):
    s3 = aws_emulator.client("s3")
    bucket = unique_bucket(s3, "sinkq")
    pipeline = unique_name("quality")
    labels = {"pipeline": pipeline, "dataset": "market_data_processed"}
    writer = LakeWriter(s3, bucket, metrics=PipelineMetrics(pipeline))
    good = _fresh_ticks()
    writer.add(Loaded(good, [(0, n) for n in range(len(good))], [b""] * len(good)))
    writer.flush()
    assert sample("pipeline_data_quality_score", labels) == 1.0

    bad = list(good)
    for n in (3, 10):  # a negative volume and a price of zero: loaded anyway, counted against the batch
        bad[n] = bad[n][:2] + (0.0 if n == 10 else bad[n][2], -5 if n == 3 else bad[n][3]) + bad[n][4:]
    writer.add(Loaded(bad, [(1, n) for n in range(len(bad))], [b""] * len(bad)))
    writer.flush()

    assert [v.score for v in writer.validations] == [1.0, pytest.approx(1 - 2 / len(bad))]
    assert sample("pipeline_data_quality_score", labels) == pytest.approx(1 - 2 / len(bad))
    assert len(writer.validations[1].critical) == 2
    assert _written_rows(s3, bucket, writer.keys) == len(good) + len(bad)


def test_validation_can_be_switched_off(aws_emulator):
    s3 = aws_emulator.client("s3")
    bucket = unique_bucket(s3, "sinkoff")
    writer = LakeWriter(s3, bucket, validate=False)
    rows = _fresh_ticks()
    writer.add(Loaded(rows, [(0, n) for n in range(len(rows))], [b""] * len(rows)))
    writer.flush()
    assert writer.validations == [] and writer.rows_written == len(rows)
