"""The four pipeline metrics (docs/requirements.md#batch-quality-and-monitoring), shared by every pipeline
(connectors, Flink jobs, sinks, batch), the targets they are held to, and two more the alerts and the
storage-cost dashboard need: the connectors' quota left and the bytes written to the lake.

Names and labels are the requirements'. A component builds one `PipelineMetrics` for its pipeline name and
records through it, so the `pipeline` label is set in one place; a quality check that only reports a score
calls `data_quality(pipeline, dataset, score)`. The Flink jobs export the same names through recording
rules over their Flink metrics (app/monitoring/flink.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.utils import floatToGoString

# docs/requirements.md#targets: what the alert rules, the dashboards and the local run's summary check.
QUALITY_TARGET = 0.99  # data quality score > 99 %
LATENCY_TARGET_SECONDS = 5.0  # processing latency p95 < 5 s (event time -> stored row)
UPTIME_TARGET = 0.999  # pipeline uptime > 99.9 %

# `status` values of pipeline_messages_processed_total; a bounded set keeps the series count bounded.
SUCCESS = "success"
DEAD_LETTER = "dead_letter"
ERROR = "error"
DUPLICATE = "duplicate"  # dropped as already delivered (e.g. a vendor's resume overlap)
STATUSES = (SUCCESS, DEAD_LETTER, ERROR, DUPLICATE)

# Seconds; from sub-millisecond producer acks up to the 5 s p95 processing target and beyond it to above
# the highest latency alert threshold (app/monitoring/latency.py: 40 s end to end in prod), so a p95 there
# is measured, not cut off at the last bucket.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0
)  # fmt: skip


def bucket_labels(buckets: Sequence[float] = LATENCY_BUCKETS) -> list[str]:
    """Each bound's `le` label as prometheus_client writes it, for the exporters that must match (Flink)."""
    return [floatToGoString(bound) for bound in buckets]


# The names, as Prometheus stores them (the rules and dashboards of app/monitoring use these).
MESSAGES_PROCESSED_TOTAL = "pipeline_messages_processed_total"
PROCESSING_LATENCY_SECONDS = "pipeline_processing_latency_seconds"
QUEUE_DEPTH_NAME = "pipeline_queue_depth"
DATA_QUALITY_SCORE_NAME = "pipeline_data_quality_score"
QUOTA_REMAINING_NAME = "pipeline_connector_quota_remaining"
LAKE_BYTES_WRITTEN_TOTAL = "pipeline_lake_bytes_written_total"

MESSAGES_PROCESSED = Counter(
    MESSAGES_PROCESSED_TOTAL,
    "Messages processed, by outcome",
    ["pipeline", "topic", "status"],
)
PROCESSING_LATENCY = Histogram(
    PROCESSING_LATENCY_SECONDS,
    "Time spent in a processing stage",
    ["pipeline", "stage"],
    buckets=LATENCY_BUCKETS,
)
LAKE_BYTES_WRITTEN = Counter(
    LAKE_BYTES_WRITTEN_TOTAL,
    "Bytes of objects written to the data lake, by bucket (app/sinks/lake_layout.py suffix) and dataset",
    ["bucket", "dataset"],
)
QUEUE_DEPTH = Gauge(QUEUE_DEPTH_NAME, "Messages waiting in a queue", ["pipeline", "queue"])
DATA_QUALITY_SCORE = Gauge(DATA_QUALITY_SCORE_NAME, "Data quality score (0-1)", ["pipeline", "dataset"])
CONNECTOR_QUOTA_REMAINING = Gauge(
    QUOTA_REMAINING_NAME,
    "Requests left in a vendor's daily or monthly quota window",
    ["pipeline", "source"],
)


class PipelineMetrics:
    """The four metrics bound to one pipeline; label children are cached (`labels()` is slow on hot paths)."""

    def __init__(self, pipeline: str) -> None:
        if not pipeline:
            raise ValueError("pipeline name must be non-empty")
        self.pipeline = pipeline
        self._children: dict[tuple, object] = {}

    def _child(self, metric, *values: str):
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(self.pipeline, *values)
        return child

    def processed(self, topic: str, status: str = SUCCESS, count: int = 1) -> None:
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        if count:
            self._child(MESSAGES_PROCESSED, topic, status).inc(count)

    def latency(self, stage: str, seconds: float) -> None:
        self._child(PROCESSING_LATENCY, stage).observe(seconds)

    def latencies(self, stage: str, seconds: Sequence[float]) -> None:
        """Observe many latencies at once (per-record observe() costs ~1 us each, a hot-path share).

        prometheus_client has no bulk observe; this adds bucket counts the way Histogram.observe does
        (non-cumulative bucket i holds values <= bound i, above bound i-1). tests/app/test_metrics.py
        checks it against observe() so a library upgrade that changes the internals fails there.
        """
        if not len(seconds):
            return
        child = self._child(PROCESSING_LATENCY, stage)
        values = np.asarray(seconds, dtype=float)
        counts = np.bincount(
            np.searchsorted(child._upper_bounds, values, side="left"), minlength=len(child._upper_bounds)
        )
        for bucket, count in zip(child._buckets, counts.tolist(), strict=True):
            if count:
                bucket.inc(count)
        child._sum.inc(float(values.sum()))

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.latency(stage, time.perf_counter() - start)

    def queue_depth(self, queue: str, depth: int) -> None:
        self._child(QUEUE_DEPTH, queue).set(depth)

    def quality(self, dataset: str, score: float) -> None:
        if not (0.0 <= score <= 1.0) or math.isnan(score):
            raise ValueError(f"data quality score must be within [0, 1], got {score!r}")
        self._child(DATA_QUALITY_SCORE, dataset).set(score)

    def quota_remaining(self, source: str, remaining: int) -> None:
        self._child(CONNECTOR_QUOTA_REMAINING, source).set(max(remaining, 0))


def lake_written(bucket: str, dataset: str, size: int) -> None:
    """Count `size` bytes written into the lake's `bucket` (its layout suffix, e.g. processed-data)."""
    LAKE_BYTES_WRITTEN.labels(bucket, dataset).inc(size)


def data_quality(pipeline: str, dataset: str, score: float) -> None:
    """Set pipeline_data_quality_score{pipeline, dataset} to `score` (0-1), e.g. a validation run's share of
    passing records; ValueError outside [0, 1]. Served wherever the process serves /metrics (`serve`)."""
    PipelineMetrics(pipeline).quality(dataset, score)


def serve(port: int, host: str = "127.0.0.1", registry: CollectorRegistry = REGISTRY):
    """Serve /metrics on host:port (loopback by default); returns (server, thread): call server.shutdown()."""
    return start_http_server(port, addr=host, registry=registry)


def sample(name: str, labels: dict[str, str], registry: CollectorRegistry = REGISTRY) -> float:
    """Current value of one sample (0.0 when absent): for tests and progress lines."""
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
