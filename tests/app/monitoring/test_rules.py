"""The rule file of charts/waardhaven-monitoring: as app/monitoring renders it, accepted by promtool, and
every alert and the Flink recording rules checked by promtool's unit tests (promtool/*.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app import metrics
from app.flink import config
from app.monitoring import chart, latency, rules
from tests.app.monitoring.promtool_run import check_rules, promtool

PROMTOOL_TESTS = sorted((Path(__file__).parent / "promtool").glob("*_test.yaml"))


def test_the_charts_files_are_what_app_monitoring_renders():
    stale = [
        str(path.relative_to(chart.CHART))
        for path, text in chart.rendered().items()
        if not path.is_file() or path.read_text() != text
    ]
    extra = {*chart.DASHBOARDS_DIR.glob("*.json"), *chart.THRESHOLDS_DIR.glob("*.yaml")} - set(
        chart.rendered()
    )
    assert not stale and not extra, f"run `python -m app.monitoring.chart` (stale: {stale}, extra: {extra})"


def test_promtool_accepts_the_rule_file():
    check_rules(chart.RULES_FILE)
    for env in config.environments():
        check_rules(chart.thresholds_file(env))


def test_latency_thresholds_add_the_waits_of_each_environments_settings():
    # prod: 5 s target; out-of-orderness 5 s; checkpoints every 30 s (app/flink/jobs.yaml defaults).
    assert latency.thresholds("prod") == {
        ("market-data", "indicators"): 10.0,
        ("market-data", "end_to_end"): 40.0,
    }
    # local: out-of-orderness 1 s, checkpoints every 2 s.
    assert latency.thresholds("local") == {
        ("market-data", "indicators"): 6.0,
        ("market-data", "end_to_end"): 8.0,
    }


def test_every_latency_threshold_is_measurable():
    """histogram_quantile stops at the highest finite bucket: a threshold above it could never be crossed."""
    for env in config.environments():
        for stage, seconds in latency.thresholds(env).items():
            assert seconds < metrics.LATENCY_BUCKETS[-1], (env, stage, seconds)


def test_a_rule_file_promtool_rejects_fails(tmp_path):
    broken = rules.groups()
    broken[2]["rules"][0] = {
        **broken[2]["rules"][0],
        "expr": "histogram_quantile(0.95, sum by (le) (rate(x[5m]))",
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": broken}))

    with pytest.raises(AssertionError, match="promtool rejects") as failure:
        check_rules(path)
    assert "unclosed left parenthesis" in str(failure.value)


def test_promtool_unit_tests_of_the_rules_pass():
    proc = promtool("test", "rules", *(p.name for p in PROMTOOL_TESTS), cwd=PROMTOOL_TESTS[0].parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(PROMTOOL_TESTS) >= 2


def test_every_alert_is_unit_tested_firing():
    tested = set()
    for path in PROMTOOL_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            tested |= {t["alertname"] for t in case.get("alert_rule_test", []) if t["exp_alerts"]}
    alerts = {rule["alert"] for group in rules.groups() for rule in group["rules"] if "alert" in rule}
    assert alerts - tested == set()
    assert len(alerts) >= 11
