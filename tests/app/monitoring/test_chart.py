"""charts/waardhaven-monitoring renders (the Go-built helm) into the PrometheusRule, a ConfigMap per dashboard
for the Grafana sidecar, and the Flink PodMonitor, all labelled for kube-prometheus-stack."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from app.monitoring import chart, dashboards, rules
from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    if not is_complete(gotools.tool_dir(gotools.HELM)):
        pytest.fail("helm is not built: run `python3 -m infra.bootstrap helm`")
    helm = str(gotools.binary_path(gotools.HELM))
    values = ["--set", "prometheusRelease=kube-prometheus-stack", "--namespace", "monitoring"]
    subprocess.run([helm, "lint", str(chart.CHART), *values], check=True, capture_output=True, text=True)
    text = subprocess.run(
        [helm, "template", "monitoring", str(chart.CHART), *values],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_the_prometheus_rule_carries_the_rule_file(rendered):
    (rule,) = [d for d in rendered if d["kind"] == "PrometheusRule"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["namespace"] == "monitoring"
    assert rule["spec"] == {"groups": rules.groups()}


def test_each_dashboard_is_a_configmap_for_the_grafana_sidecar(rendered):
    maps = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "ConfigMap"}
    assert len(maps) == len(dashboards.dashboards())
    for name, model in dashboards.dashboards().items():
        config_map = maps[f"waardhaven-dashboard-{name.removesuffix('.json')}"]
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(config_map["data"][name]) == model


def test_the_flink_jobs_pods_are_scraped_on_the_reporters_port(rendered):
    (monitor,) = [d for d in rendered if d["kind"] == "PodMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["data-processing"]}
    assert monitor["spec"]["selector"]["matchExpressions"] == [
        {"key": "app", "operator": "In", "values": ["market-data", "news"]}
    ]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["relabelings"][0]["replacement"] == "${1}:9249"
