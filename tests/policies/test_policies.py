"""Policy as code: stacks and topic catalog pass; each project check catches its violation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.yamlconfig import ConfigError
from infra.config import environment_names
from policies.scan import checkov, findings, scan_charts, scan_stacks, scan_topic_catalog
from policies.waivers import load_waivers


def _write_stack(root: Path, stack: str, document: dict) -> Path:
    path = root / stack / "cdk.tf.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document))
    return root


def test_every_environment_passes_with_only_documented_waivers(synthesized):
    result = scan_stacks(synthesized.outdir / "stacks", environment_names(), load_waivers())

    assert result.blocking == []
    assert result.passed > 1000
    waived_envs = {f.env for f in result.findings}
    assert waived_envs <= set(environment_names())


def test_every_environments_platform_charts_pass_checkovs_kubernetes_checks_with_only_documented_waivers(
    synthesized,
):
    envs = environment_names()
    result = scan_charts(synthesized.outdir / "stacks", envs, load_waivers())

    assert result.blocking == []
    assert result.passed > 1000
    assert {f.env for f in result.findings} <= set(envs)
    # what is waived is waived for a reason on a known workload, not across the board
    waived = {(f.check_id, f.resource.split(".")[0]) for f in result.findings}
    assert waived <= {
        ("CKV_K8S_35", "Deployment"),
        ("CKV_K8S_35", "Job"),
        ("CKV_K8S_35", "Pod"),
        ("CKV_K8S_8", "Pod"),
        ("CKV_K8S_9", "Pod"),
        ("CKV_WH_3", "KafkaTopic"),
    }


def test_a_rendered_chart_without_the_restricted_security_context_fails(synthesized, tmp_path):
    stacks = tmp_path / "stacks"
    stack = stacks / "dev-platform"
    stack.mkdir(parents=True)
    chart = stack / "bare"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bare\nversion: 0.1.0\n")
    (chart / "templates" / "deployment.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "bare"},
                "spec": {
                    "selector": {"matchLabels": {"app": "bare"}},
                    "template": {
                        "metadata": {"labels": {"app": "bare"}},
                        "spec": {"containers": [{"name": "bare", "image": "busybox:latest"}]},
                    },
                },
            }
        )
    )
    release = {"name": "bare", "chart": "bare", "namespace": "data-processing", "values": []}
    (stack / "cdk.tf.json").write_text(json.dumps({"resource": {"helm_release": {"bare": release}}}))

    result = scan_charts(stacks, ["dev"], load_waivers())
    failed = {f.check_id for f in result.blocking}

    assert {
        "CKV_K8S_20",
        "CKV_K8S_22",
        "CKV_K8S_28",
        "CKV_K8S_43",
    } <= failed  # escalation, rootfs, caps, digest
    assert {f.resource for f in result.blocking} <= {
        "Deployment.data-processing.bare",
        "Pod.data-processing.bare.app-bare",  # checkov's view of its pod template
    }


def test_topic_catalog_topics_survive_a_broker_loss():
    result = scan_topic_catalog(load_waivers())

    assert result.findings == ()
    assert result.passed >= 2 * 10  # two project checks per KafkaTopic


def test_provider_without_required_tags_and_rule_without_noncurrent_expiry_fail(tmp_path):
    stack = {
        "provider": {"aws": [{"region": "us-east-1", "default_tags": [{"tags": {"environment": "dev"}}]}]},
        "resource": {
            "aws_s3_bucket_lifecycle_configuration": {
                "raw": {
                    "bucket": "b",
                    "rule": [{"id": "raw", "status": "Enabled", "filter": [{"prefix": ""}]}],
                }
            }
        },
    }
    root = _write_stack(tmp_path, "dev-data-lake", stack)

    result = scan_stacks(root, environment_names(), load_waivers())
    failed = {f.check_id: f for f in result.blocking}

    assert failed["CKV_WH_1"].details == ("missing default tags: owner, cost-center, data-classification",)
    assert failed["CKV_WH_2"].env == "dev"
    assert "raw" in failed["CKV_WH_2"].details[0]


def test_kafka_topic_with_one_replica_and_unbounded_retention_fails(tmp_path):
    topic = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {"name": "fragile", "namespace": "data-processing"},
        "spec": {
            "partitions": 3,
            "replicas": 1,
            "config": {"retention.ms": "-1", "min.insync.replicas": "1"},
        },
    }
    (tmp_path / "topic.yaml").write_text(yaml.safe_dump(topic))

    # staging: an environment with the brokers for 3 replicas (dev's are waived: capped at its two brokers)
    result = findings(checkov(tmp_path, "kubernetes"), load_waivers(), lambda _path: "staging")

    assert sorted(f.check_id for f in result.blocking) == ["CKV_WH_3", "CKV_WH_4"]


def test_a_waiver_applies_only_to_its_environments(tmp_path):
    log_group = {
        "resource": {"aws_cloudwatch_log_group": {"flow": {"name": "flow", "retention_in_days": 30}}}
    }
    _write_stack(tmp_path, "prod-network", log_group)
    _write_stack(tmp_path, "dev-network", log_group)

    result = scan_stacks(tmp_path, environment_names(), load_waivers())
    retention = {f.env: f.blocking for f in result.findings if f.check_id == "CKV_AWS_338"}

    assert retention == {"prod": True, "dev": False}


@pytest.mark.parametrize(
    ("waiver", "key", "problem"),
    [
        (
            {"check": "CKV_AWS_18", "reason": "long enough reason here", "environments": ["qa"]},
            "environments",
            "unknown environments ['qa']",
        ),
        ({"check": "CKV_AWS_18", "environments": "all"}, "reason", "Field required"),
        (
            {"check": "not-a-check", "reason": "long enough reason here", "environments": "all"},
            "check",
            "should match pattern",
        ),
        (
            {"check": "CKV_AWS_18", "reason": "long enough reason here", "environments": "all", "until": "x"},
            "until",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_bad_waiver_fails_on_load_naming_file_and_key(tmp_path, waiver, key, problem):
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": [waiver]}))

    with pytest.raises(ConfigError) as caught:
        load_waivers(path)

    assert caught.value.path == str(path)
    assert caught.value.key.startswith("waivers.0.") and caught.value.key.endswith(key)
    assert problem in str(caught.value)


def test_a_resource_scoped_waiver_covers_only_the_resources_it_names(tmp_path):
    bucket = {"bucket": "b", "versioning": {"enabled": True}}
    _write_stack(
        tmp_path,
        "dev-state",
        {"resource": {"aws_s3_bucket": {"state_access_logs_bucket_ABC": bucket, "other_bucket": bucket}}},
    )

    result = scan_stacks(tmp_path, environment_names(), load_waivers())
    access_logging = {f.resource: f.blocking for f in result.findings if f.check_id == "CKV_AWS_18"}

    assert access_logging == {
        "aws_s3_bucket.state_access_logs_bucket_ABC": False,
        "aws_s3_bucket.other_bucket": True,
    }
