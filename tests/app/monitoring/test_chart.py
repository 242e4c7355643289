"""charts/waardhaven-monitoring renders (the Go-built helm) into the PrometheusRule, a ConfigMap per dashboard
for the Grafana sidecar, and the Flink PodMonitor, all labelled for kube-prometheus-stack."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from app.monitoring import chart, dashboards, latency, rules
from infra import images
from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete

pytestmark = pytest.mark.integration


def helm(command: str, *values: str) -> subprocess.CompletedProcess:
    """`helm lint|template` of the chart with kube-prometheus-stack's release and namespace."""
    if not is_complete(gotools.tool_dir(gotools.HELM)):
        pytest.fail("helm is not built: run `python3 -m infra.bootstrap helm`")
    binary = str(gotools.binary_path(gotools.HELM))
    names = ["monitoring"] if command == "template" else []
    values = (
        *("--set", "prometheusRelease=kube-prometheus-stack", "--namespace", "monitoring"),
        *("--set", f"probe.image.repository={images.PYTHON_SERVICES['repository']}"),
        *("--set", f"probe.image.digest={images.PYTHON_SERVICES['digest']}"),
        *values,
    )
    return subprocess.run(
        [binary, command, *names, str(chart.CHART), *values], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    lint = helm("lint", "--set", "environment=prod")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    proc = helm("template", "--set", "environment=prod")
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def test_the_prometheus_rules_carry_the_rule_file_and_the_environments_thresholds(rendered):
    carried = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "PrometheusRule"}
    assert set(carried) == {"waardhaven-pipeline", "waardhaven-latency-thresholds"}
    for rule in carried.values():
        assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert rule["metadata"]["namespace"] == "monitoring"
    assert carried["waardhaven-pipeline"]["spec"] == {"groups": rules.groups()}
    (group,) = carried["waardhaven-latency-thresholds"]["spec"]["groups"]
    assert group["rules"] == latency.threshold_rules("prod")


def test_an_environment_without_thresholds_fails_the_render():
    proc = helm("template", "--set", "environment=qa")
    assert proc.returncode != 0
    assert 'environment "qa" has no files/latency-thresholds/qa.yaml' in proc.stderr


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
