"""EKS (version, node groups, logging, secrets encryption, OIDC, EBS CSI) and least-privilege IRSA roles."""

from __future__ import annotations

import json

import pytest

from infra.config import load_environment
from tests.stacks.synth_helpers import ENVS, resource, resources


@pytest.mark.parametrize("env", ENVS)
def test_cluster_is_pinned_logged_and_encrypts_secrets_with_its_kms_key(synthesized, env):
    cfg = load_environment(env)
    stack = synthesized.stack(f"{env}-eks")
    cluster = resource(stack, "aws_eks_cluster", name=f"waardhaven-{env}")
    assert cluster["version"] == cfg.eks.kubernetes_version
    assert cluster["enabled_cluster_log_types"] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    (encryption,) = [cluster["encryption_config"]]
    assert encryption["resources"] == ["secrets"]
    assert f"cross-stack-reference-input-{env}-kms" in encryption["provider"]["key_arn"]
    assert "eks_secrets_key" in encryption["provider"]["key_arn"]
    logs = resource(stack, "aws_cloudwatch_log_group", name=f"/aws/eks/waardhaven-{env}/cluster")
    assert logs["retention_in_days"] == cfg.eks.log_retention_days
    assert cluster["vpc_config"]["endpoint_public_access"] is cfg.eks.endpoint_public_access


@pytest.mark.parametrize("env", ENVS)
def test_node_groups_are_sized_per_environment_and_data_processing_is_labelled_and_tainted(synthesized, env):
    cfg = load_environment(env)
    groups = {
        g["node_group_name"]: g
        for g in resources(synthesized.stack(f"{env}-eks"), "aws_eks_node_group").values()
    }
    assert set(groups) == set(cfg.eks.node_groups)
    for name, group in cfg.eks.node_groups.items():
        synthesized_group = groups[name]
        assert synthesized_group["scaling_config"] == {
            "min_size": group.min_size,
            "desired_size": group.desired_size,
            "max_size": group.max_size,
        }
        assert synthesized_group["instance_types"] == group.instance_types
        assert synthesized_group["labels"] == {"workload-type": name}
    assert groups["data-processing"]["taint"] == [
        {"key": "workload-type", "value": "data-processing", "effect": "NO_SCHEDULE"}
    ]
    assert "taint" not in groups["system"]


@pytest.mark.parametrize("env", ENVS)
def test_nodes_launch_with_encrypted_gp3_root_volumes_imdsv2_and_the_environment_tags(synthesized, env):
    cfg = load_environment(env)
    stack = synthesized.stack(f"{env}-eks")
    for name, group in cfg.eks.node_groups.items():
        template = resource(stack, "aws_launch_template", name=f"waardhaven-{env}-{name}")
        (root,) = template["block_device_mappings"]
        assert root["ebs"] == {
            "volume_size": group.disk_size_gib,
            "volume_type": "gp3",
            "encrypted": "true",
            "delete_on_termination": "true",
        }
        assert template["metadata_options"]["http_tokens"] == "required"
        tagged = {spec["resource_type"]: spec["tags"] for spec in template["tag_specifications"]}
        assert set(tagged) == {"instance", "volume", "network-interface"}
        assert all(
            tags["environment"] == env and tags["cost-center"] == cfg.tags.cost_center
            for tags in tagged.values()
        )
        node_group = resource(stack, "aws_eks_node_group", node_group_name=name)
        assert node_group["launch_template"]["id"].startswith("${aws_launch_template.")


@pytest.mark.parametrize("env", ENVS)
def test_oidc_provider_and_ebs_csi_addon_with_its_irsa_role(synthesized, env):
    stack = synthesized.stack(f"{env}-eks")
    oidc = resource(stack, "aws_iam_openid_connect_provider", client_id_list=["sts.amazonaws.com"])
    assert ".identity[0].oidc[0].issuer}" in oidc["url"]
    addons = resources(stack, "aws_eks_addon")
    if not load_environment(env).features.eks_addons:
        assert addons == {}  # the local emulator has no add-on API
        return
    addon = resource(stack, "aws_eks_addon", addon_name="aws-ebs-csi-driver")
    assert addon["addon_version"] == load_environment(env).eks.ebs_csi_driver_version
    role = resource(stack, "aws_iam_role", name=f"waardhaven-{env}-ebs-csi")
    assert _trusted_service_accounts(stack, role) == [
        "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    ]
    assert addon["service_account_role_arn"].startswith("${aws_iam_role.eks_ebs_csi_role")


def _trusted_service_accounts(stack: dict, role: dict) -> list[str]:
    """The `sub` values of the role's web-identity trust policy (an aws_iam_policy_document data source)."""
    document_id = (
        role["assume_role_policy"].removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
    )
    (statement,) = stack["data"]["aws_iam_policy_document"][document_id]["statement"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["principals"][0]["type"] == "Federated"
    conditions = {c["variable"].rsplit(":", 1)[1]: c for c in statement["condition"]}
    assert (
        conditions["aud"]["values"] == ["sts.amazonaws.com"] and conditions["aud"]["test"] == "StringEquals"
    )
    assert conditions["sub"]["test"] == "StringEquals"
    return conditions["sub"]["values"]


def _role(synthesized, env, workload):
    stack = synthesized.stack(f"{env}-irsa")
    role = resource(stack, "aws_iam_role", name=f"waardhaven-{env}-{workload}")
    (logical_id,) = [k for k, v in resources(stack, "aws_iam_role").items() if v is role]
    policy = resource(stack, "aws_iam_role_policy", role=f"${{aws_iam_role.{logical_id}.id}}")
    return _trusted_service_accounts(stack, role), json.loads(policy["policy"])["Statement"]


def _grants(statements) -> set[tuple[str, str]]:
    out = set()
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources_ = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        out |= {(a, r) for a in actions for r in resources_ if a.startswith("s3:")}
    return out


@pytest.mark.parametrize("env", ENVS)
def test_irsa_roles_trust_only_their_service_account(synthesized, env):
    for workload, account in [
        ("flink", "flink-service-account"),
        ("spark", "spark-service-account"),
        ("connectors", "connectors-service-account"),
        ("database", "waardhaven-timescaledb"),  # CloudNativePG's instances run as their cluster's name
    ]:
        trusted, _ = _role(synthesized, env, workload)
        assert trusted == [f"system:serviceaccount:data-processing:{account}"]


@pytest.mark.parametrize("env", ENVS)
def test_irsa_roles_are_least_privilege_on_exactly_their_prefixes(synthesized, env):
    raw, processed, state = (
        f"arn:aws:s3:::waardhaven-{env}-{s}" for s in ("raw-data", "processed-data", "flink-state")
    )
    raw_prefixes = [
        "market-data/",
        "news/",
        "insider-trading/",
        "social/",
        "economic-indicators/",
        "company-metrics/",
    ]

    _, flink = _role(synthesized, env, "flink")
    flink_objects = {f"{state}/{p}*" for p in ("checkpoints/", "savepoints/", "ha/")}
    assert {r for _, r in _grants(flink)} == flink_objects | {state}
    assert {a for a, _ in _grants(flink)} == {
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }

    _, spark = _role(synthesized, env, "spark")
    spark_grants = _grants(spark)
    assert {("s3:GetObject", f"{raw}/{p}*") for p in raw_prefixes} <= spark_grants
    assert not any(a in ("s3:PutObject", "s3:DeleteObject") and r.startswith(raw) for a, r in spark_grants)
    assert ("s3:PutObject", f"{processed}/daily-aggregates/*") in spark_grants
    # the daily batch reads the processed ticks, writes its summaries and their quality reports, nothing else
    assert ("s3:GetObject", f"{processed}/market-data/*") in spark_grants
    assert ("s3:PutObject", f"{processed}/quality-reports/*") in spark_grants
    assert ("s3:PutObject", f"{processed}/market-data/*") not in spark_grants

    _, connectors = _role(synthesized, env, "connectors")
    assert _grants(connectors) == {
        (a, f"{raw}/{p}*") for a in ("s3:PutObject", "s3:AbortMultipartUpload") for p in raw_prefixes
    }

    # barman-cloud: its backups and WAL under their prefix, and HeadBucket (a listing without a prefix)
    _, backups = _role(synthesized, env, "database")
    objects = f"{processed}/database-backups/*"
    assert _grants(backups) == {
        ("s3:ListBucket", processed),
        ("s3:GetObject", objects),
        *((a, objects) for a in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")),
    }
    (listing,) = [s for s in backups if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLikeIfExists": {"s3:prefix": ["database-backups/*"]}}

    for statements in (flink, spark, connectors, backups):
        assert not any(r in ("*", "arn:aws:s3:::*") or a == "s3:*" for a, r in _grants(statements))
