"""Network (AZs, subnets tagged for EKS load balancers, NAT, flow logs) and KMS keys per purpose."""

from __future__ import annotations

import ipaddress
import json

import pytest

from infra.config import load_environment
from infra.constructs.vpc import subnet_cidrs
from tests.stacks.synth_helpers import ENVS, ref, resource, resources


@pytest.mark.parametrize("env", ENVS)
def test_subnets_span_the_configured_azs_and_carry_eks_load_balancer_tags(synthesized, env):
    cfg = load_environment(env)
    subnets = resources(synthesized.stack(f"{env}-network"), "aws_subnet").values()
    public = [s for s in subnets if s["tags"].get("kubernetes.io/role/elb") == "1"]
    private = [s for s in subnets if s["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    assert len(public) == len(private) == cfg.network.az_count == len(subnets) // 2
    assert len({s["availability_zone"] for s in private}) == cfg.network.az_count
    cluster_tag = f"kubernetes.io/cluster/{cfg.cluster_name}"
    assert all(s["tags"][cluster_tag] == "shared" for s in subnets)


@pytest.mark.parametrize("env", ENVS)
def test_nat_gateways_per_az_in_prod_and_one_elsewhere(synthesized, env):
    stack = synthesized.stack(f"{env}-network")
    expected = load_environment(env).network.az_count if env == "prod" else 1
    assert len(resources(stack, "aws_nat_gateway")) == expected
    private_routes = [r for r in resources(stack, "aws_route").values() if "nat_gateway_id" in r]
    assert len(private_routes) == load_environment(env).network.az_count


@pytest.mark.parametrize("env", ENVS)
def test_vpc_flow_logs_capture_all_traffic_into_a_retained_log_group(synthesized, env):
    stack = synthesized.stack(f"{env}-network")
    group = resource(stack, "aws_cloudwatch_log_group", name=f"/waardhaven/{env}/vpc-flow-logs")
    assert group["retention_in_days"] == load_environment(env).network.flow_log_retention_days
    flow_log = resource(stack, "aws_flow_log", traffic_type="ALL")
    assert flow_log["vpc_id"] == ref("aws_vpc", "id", stack)
    assert flow_log["log_destination"] == ref("aws_cloudwatch_log_group", "arn", stack)


def test_subnet_cidrs_do_not_overlap_for_any_az_count():
    for az_count in range(1, 7):
        private, public = subnet_cidrs("10.0.0.0/16", az_count)
        networks = [ipaddress.IPv4Network(c) for c in private + public]
        assert len(networks) == 2 * az_count
        assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


@pytest.mark.parametrize("env", ENVS)
def test_kms_keys_per_purpose_rotate_and_grant_use_only_through_their_services(synthesized, env):
    cfg = load_environment(env)
    stack = synthesized.stack(f"{env}-kms")
    aliases = sorted(a["name"] for a in resources(stack, "aws_kms_alias").values())
    purposes = ("data-lake", "eks-secrets", "logs", "ml-models", "secrets")
    assert aliases == [f"alias/waardhaven-{env}-{p}" for p in purposes]
    for key in resources(stack, "aws_kms_key").values():
        assert key["enable_key_rotation"] is True
        # deletion_protection is required of production (infra.config.policy): no plan can destroy its keys
        assert (key.get("lifecycle") == {"prevent_destroy": True}) is cfg.features.deletion_protection
        statements = json.loads(key["policy"])["Statement"]
        assert not any(s["Action"] in ("kms:*", ["kms:*"]) for s in statements)
        if key["description"].startswith("CloudWatch log groups"):
            continue  # its own test below
        (use,) = [s for s in statements if s["Sid"] == "UseThroughServices"]
        assert use["Condition"]["StringEquals"]["kms:CallerAccount"] == cfg.account_id
        assert all(
            svc.endswith(f".{cfg.region}.amazonaws.com")
            for svc in use["Condition"]["StringEquals"]["kms:ViaService"]
        )


@pytest.mark.parametrize("env", ENVS)
def test_log_groups_are_encrypted_with_the_logs_key_which_cloudwatch_may_use_only_for_them(synthesized, env):
    cfg = load_environment(env)
    kms = synthesized.stack(f"{env}-kms")
    (logs_key_id,) = [
        logical_id
        for logical_id, key in resources(kms, "aws_kms_key").items()
        if key["description"].startswith("CloudWatch log groups")
    ]
    statements = {
        s["Sid"]: s for s in json.loads(resources(kms, "aws_kms_key")[logs_key_id]["policy"])["Statement"]
    }
    assert set(statements) == {"AccountAdministers", "CloudWatchLogsUse"}
    use = statements["CloudWatchLogsUse"]
    assert use["Principal"] == {"Service": f"logs.{cfg.region}.amazonaws.com"}
    groups = [f"/waardhaven/{env}/vpc-flow-logs", f"/aws/eks/{cfg.cluster_name}/cluster"]
    assert use["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == [
        f"arn:aws:logs:{cfg.region}:{cfg.account_id}:log-group:{group}" for group in groups
    ]
    for layer, group in zip(("network", "eks"), groups, strict=True):
        log_group = resource(synthesized.stack(f"{env}-{layer}"), "aws_cloudwatch_log_group", name=group)
        # The kms stack's output of that key's ARN, read through the cross-stack remote state.
        assert log_group["kms_key_id"] == (
            f"${{data.terraform_remote_state.cross-stack-reference-input-{env}-kms"
            f".outputs.cross-stack-output-aws_kms_key{logs_key_id}arn}}"
        )


@pytest.mark.parametrize("env", ENVS)
def test_the_default_security_group_is_adopted_with_no_rules(synthesized, env):
    stack = synthesized.stack(f"{env}-network")
    (group,) = resources(stack, "aws_default_security_group").values()
    assert group["vpc_id"] == ref("aws_vpc", "id", stack)
    assert not group.get("ingress") and not group.get("egress")
