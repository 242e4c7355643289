"""A Python UDF's counts in the shape the Java operators export (app/flink/java: SymbolIndicators,
IsDeadLetter, LatencyHistogram), so app/monitoring/flink.py maps every job's Flink metrics the same way:

- `status.<status>.messages_processed` and `reason.<code>.dead_letters` counters;
- a latency histogram in Prometheus' shape in group `stage.<stage>`: cumulative
  `le.<bound>.processing_latency_seconds_bucket` counters (with `+Inf`) and
  `processing_latency_seconds_count`, over app/metrics.py's LATENCY_BUCKETS.

PyFlink's metrics are integers (counters, and gauges of int callables), so the histogram's sum is counted in
milliseconds, as `processing_latency_milliseconds_sum`; the recording rules divide it by 1000. PyFlink
hands the counts to the Java operator at the end of each bundle (python.fn-execution.bundle.time).
"""

from __future__ import annotations

import bisect

from app import metrics

PROCESSED_METRIC = "messages_processed"
DEAD_LETTER_METRIC = "dead_letters"
LATENCY_METRIC = "processing_latency_seconds"
LATENCY_SUM_MS_METRIC = "processing_latency_milliseconds_sum"
LATENCY_SUM_UNIT = 0.001  # seconds per unit of the sum


class RecordCounts:
    """Counters of one UDF instance (one subtask), created on first use: label values stay as bounded as
    the statuses and reject codes passed in."""

    def __init__(self, group) -> None:  # a pyflink.metrics.MetricGroup
        self._group = group
        self._counters: dict[tuple[str, str], object] = {}

    def processed(self, status: str = metrics.SUCCESS) -> None:
        self._inc("status", status, PROCESSED_METRIC)

    def dead_letter(self, code: str) -> None:
        self._inc("reason", code, DEAD_LETTER_METRIC)

    def _inc(self, key: str, value: str, metric: str) -> None:
        counter = self._counters.get((key, value))
        if counter is None:
            counter = self._counters[key, value] = self._group.add_group(key, value).counter(metric)
        counter.inc()


class LatencyCounters:
    """A Prometheus histogram of seconds made of counters, in `group`.stage.<stage>."""

    def __init__(self, group, stage: str, buckets=metrics.LATENCY_BUCKETS) -> None:
        staged = group.add_group("stage", stage)
        self._bounds = list(buckets)
        self._buckets = [
            staged.add_group("le", label).counter(f"{LATENCY_METRIC}_bucket")
            for label in [*metrics.bucket_labels(buckets), "+Inf"]
        ]
        self._count = staged.counter(f"{LATENCY_METRIC}_count")
        self._sum_ms = staged.counter(LATENCY_SUM_MS_METRIC)

    def observe(self, seconds: float) -> None:
        # Cumulative: every bucket whose bound is >= seconds (upper-inclusive, as Prometheus'), and +Inf.
        for bucket in self._buckets[bisect.bisect_left(self._bounds, seconds) :]:
            bucket.inc()
        self._count.inc()
        self._sum_ms.inc(max(round(seconds * 1000), 0))
