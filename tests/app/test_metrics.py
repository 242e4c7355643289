"""The shared pipeline metrics: names and labels from docs/requirements.md, scraped over HTTP."""

import urllib.request

import pytest

from app.metrics import PipelineMetrics, data_quality, sample, serve


def test_metrics_are_exposed_with_the_briefs_names_and_labels():
    metrics = PipelineMetrics("test-metrics")
    metrics.processed("market-data-raw", count=3)
    metrics.processed("market-data-raw", "dead_letter")
    with metrics.timed("produce"):
        pass
    metrics.queue_depth("producer", 7)
    metrics.quality("ticks", 0.98)
    server, thread = serve(0)
    try:
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
            .read()
            .decode()
        )
    finally:
        server.shutdown()
        thread.join(5)
    success = 'pipeline="test-metrics",status="success",topic="market-data-raw"'
    assert f"pipeline_messages_processed_total{{{success}}} 3.0" in text
    assert 'pipeline_processing_latency_seconds_count{pipeline="test-metrics",stage="produce"} 1.0' in text
    assert 'pipeline_queue_depth{pipeline="test-metrics",queue="producer"} 7.0' in text
    assert 'pipeline_data_quality_score{dataset="ticks",pipeline="test-metrics"} 0.98' in text
    labels = {"pipeline": "test-metrics", "topic": "market-data-raw", "status": "dead_letter"}
    assert sample("pipeline_messages_processed_total", labels) == 1.0


def test_bad_status_and_quality_are_refused():
    metrics = PipelineMetrics("test-metrics-bad")
    with pytest.raises(ValueError, match="success, dead_letter, error"):
        metrics.processed("t", "ok")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.quality("d", 1.5)


def test_data_quality_sets_the_gauge_of_its_pipeline_and_dataset():
    data_quality("test-quality", "daily_summary", 0.995)
    labels = {"pipeline": "test-quality", "dataset": "daily_summary"}
    assert sample("pipeline_data_quality_score", labels) == 0.995
    data_quality("test-quality", "daily_summary", 0.5)  # a later run replaces the score
    assert sample("pipeline_data_quality_score", labels) == 0.5
    with pytest.raises(ValueError, match=r"\[0, 1\], got nan"):
        data_quality("test-quality", "daily_summary", float("nan"))


def test_bulk_latencies_equal_one_observe_each():
    from app.metrics import LATENCY_BUCKETS, PROCESSING_LATENCY

    values = [0.0001, 0.0005, 0.003, 0.003, 0.2, 7.0, 45.0, 0.0025]
    PipelineMetrics("bulk-a").latencies("produce", values)
    for value in values:
        PipelineMetrics("bulk-b").latency("produce", value)
    assert PROCESSING_LATENCY.labels("bulk-a", "produce")._upper_bounds[-1] == float("inf")
    for bound in [*LATENCY_BUCKETS, "+Inf"]:
        le = {"le": str(bound) if bound != "+Inf" else "+Inf"}
        a = sample(
            "pipeline_processing_latency_seconds_bucket", {"pipeline": "bulk-a", "stage": "produce", **le}
        )
        b = sample(
            "pipeline_processing_latency_seconds_bucket", {"pipeline": "bulk-b", "stage": "produce", **le}
        )
        assert a == b, bound
    for suffix in ("_sum", "_count"):
        name = "pipeline_processing_latency_seconds" + suffix
        assert sample(name, {"pipeline": "bulk-a", "stage": "produce"}) == pytest.approx(
            sample(name, {"pipeline": "bulk-b", "stage": "produce"})
        )
