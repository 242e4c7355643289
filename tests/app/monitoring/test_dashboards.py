"""The Grafana dashboards of charts/waardhaven-monitoring: every panel's query parses (promtool), and
returns data when run, as Grafana runs it, on the local Prometheus that scraped the session's pipeline run."""

from __future__ import annotations

import pytest

from app.local.monitoring import PIPELINE_SCRAPE_JOB
from app.monitoring import dashboards
from tests.app.monitoring.promtool_run import check_expressions

# Grafana puts 4 x the scrape interval (at least) for $__rate_interval: 4 x 1 s locally, rounded up.
LOCAL_RATE_INTERVAL = "5s"
BOARDS = dashboards.dashboards()


def _expressions() -> dict[str, str]:
    return {
        f"{name}: {title}": expr.replace(dashboards.RATE, LOCAL_RATE_INTERVAL)
        for name, model in BOARDS.items()
        for title, expr in dashboards.queries(model)
    }


def test_the_five_dashboards_are_there_with_grafana_sidecar_names():
    assert sorted(BOARDS) == [
        "data-quality.json",
        "flink-jobs.json",
        "kafka-lag.json",
        "pipeline-overview.json",
        "storage-cost.json",
    ]
    for model in BOARDS.values():
        assert model["uid"].startswith("waardhaven-") and model["panels"]
        assert all(panel["datasource"] == dashboards.DATASOURCE for panel in model["panels"])


def test_every_panel_query_parses(tmp_path):
    check_expressions(_expressions(), tmp_path)


def test_a_query_that_does_not_parse_fails(tmp_path):
    with pytest.raises(
        AssertionError, match="broken: promtool cannot parse 'sum by \\(pipeline\\) \\(rate\\(x\\[5s\\]\\)'"
    ):
        check_expressions({"fine": "up", "broken": "sum by (pipeline) (rate(x[5s])"}, tmp_path)


@pytest.mark.integration
def test_every_panel_query_returns_data_after_a_pipeline_run(pipeline_run, monitoring):
    prometheus = monitoring.prometheus
    # The run and a few seconds after it: rates over the last writes (the lake's, at the end) have samples.
    start, end = pipeline_run["started"], pipeline_run["finished"] + 5
    prometheus.wait_for_scrape(PIPELINE_SCRAPE_JOB, end)
    empty = [
        f"{name}: {expr}"
        for name, expr in _expressions().items()
        if not any(series["values"] for series in prometheus.query_range(expr, start, end, step=1))
    ]
    assert empty == [], "queries that return nothing:\n" + "\n".join(empty)
