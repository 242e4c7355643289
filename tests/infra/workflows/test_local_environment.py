"""The workflows on the synthesized `local` environment against moto, with real OpenTofu and the real AWS
provider, in order: deploy, a second deploy that plans nothing, drift made through boto3 and named, then
destroy (nothing left in the emulator) and deploy again (the same plan). Wall times are printed (-s)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any

import pytest

from infra.bootstrap.common import REPO
from infra.config import load_environment
from infra.emulator.aws import AwsEmulator
from infra.workflows import drift
from infra.workflows.deploy import deploy
from infra.workflows.stackset import AwsTarget, synthesize
from infra.workflows.teardown import teardown

pytestmark = pytest.mark.timeout(1800)
KUBERNETES_STACKS = {"local-operators", "local-platform"}


def inventory(aws: AwsEmulator) -> set[tuple[str, str]]:
    """Everything the stacks can create, as (kind, id). KMS keys pending deletion count as gone, and AWS
    managed keys (alias/aws/<service>, made on a service's first encrypted use) are AWS's, never ours."""
    ec2, iam, kms = aws.client("ec2"), aws.client("iam"), aws.client("kms")
    found = {("s3", b["Name"]) for b in aws.client("s3").list_buckets()["Buckets"]}
    found |= {("eks", c) for c in aws.client("eks").list_clusters()["clusters"]}
    found |= {("dynamodb", t) for t in aws.client("dynamodb").list_tables()["TableNames"]}
    found |= {("logs", g["logGroupName"]) for g in aws.client("logs").describe_log_groups()["logGroups"]}
    found |= {("iam-role", r["RoleName"]) for r in iam.list_roles()["Roles"]}
    found |= {("oidc", p["Arn"]) for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
            found.add(("kms-key", key["KeyId"]))
    found |= {
        ("kms-alias", a["AliasName"])
        for a in kms.list_aliases()["Aliases"]
        if "alias/aws/" not in a["AliasName"]
    }
    found |= {("vpc", v["VpcId"]) for v in ec2.describe_vpcs()["Vpcs"]}
    found |= {("subnet", s["SubnetId"]) for s in ec2.describe_subnets()["Subnets"]}
    found |= {("route-table", r["RouteTableId"]) for r in ec2.describe_route_tables()["RouteTables"]}
    found |= {("igw", i["InternetGatewayId"]) for i in ec2.describe_internet_gateways()["InternetGateways"]}
    found |= {("eip", a["AllocationId"]) for a in ec2.describe_addresses()["Addresses"]}
    found |= {
        ("eni", n["NetworkInterfaceId"]) for n in ec2.describe_network_interfaces()["NetworkInterfaces"]
    }
    found |= {("flow-log", f["FlowLogId"]) for f in ec2.describe_flow_logs()["FlowLogs"]}
    nats = ec2.describe_nat_gateways()["NatGateways"]
    found |= {("nat", n["NatGatewayId"]) for n in nats if n["State"] not in ("deleted", "deleting")}
    return found


def plan_shape(outcomes: list) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    return {o.plan.stack: sorted((c.address, c.actions) for c in o.plan.changes) for o in outcomes}


@pytest.fixture(scope="module")
def local(tofu_toolchain, emulator, tmp_path_factory) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("cdktf.out")
    baseline = inventory(emulator)
    stacks = synthesize("local", outdir)
    target = AwsTarget(load_environment("local"), emulator.endpoint, emulator.tofu_env())
    return SimpleNamespace(outdir=outdir, stacks=stacks, target=target, baseline=baseline, first_plan=None)


def state_resource(local: SimpleNamespace, stack: str, type_: str) -> list[dict[str, Any]]:
    state = local.target.tofu(next(s for s in local.stacks if s.name == stack)).show_json()
    return [r for r in state["values"]["root_module"]["resources"] if r["type"] == type_]


def test_deploy_applies_what_the_emulator_can_and_names_what_it_cannot(local, emulator):
    started = time.monotonic()
    outcomes = deploy(local.stacks, local.target)
    print(f"\ndeploy local (cold): {time.monotonic() - started:.1f}s")

    skipped = {o.plan.stack: o.plan.skipped for o in outcomes if o.plan.skipped}
    assert set(skipped) == KUBERNETES_STACKS
    assert all("Kubernetes API" in why for why in skipped.values())
    assert {o.plan.stack for o in outcomes if o.applied} == {s.name for s in local.stacks} - KUBERNETES_STACKS
    cfg = local.target.cfg
    assert cfg.cluster_name in emulator.client("eks").list_clusters()["clusters"]
    created = inventory(emulator) - local.baseline
    assert {kind for kind, _ in created} >= {"s3", "kms-key", "kms-alias", "vpc", "subnet", "eks", "iam-role"}
    local.first_plan = plan_shape(outcomes)


def test_a_second_deploy_plans_no_changes(local):
    started = time.monotonic()
    outcomes = deploy(local.stacks, local.target)
    print(f"\ndeploy local (no change): {time.monotonic() - started:.1f}s")
    assert [o.plan.stack for o in outcomes if o.applied or o.plan.changes] == []


def test_drift_names_exactly_the_lifecycle_rule_and_the_tag_changed_outside(local, emulator):
    lifecycle = state_resource(local, "local-data-lake", "aws_s3_bucket_lifecycle_configuration")[0]
    bucket = lifecycle["values"]["bucket"]
    bucket_address = next(
        r["address"]
        for r in state_resource(local, "local-data-lake", "aws_s3_bucket")
        if r["values"]["bucket"] == bucket
    )
    s3 = emulator.client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    rules[0]["ID"] = "changed-by-hand"
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    tags.append({"Key": "hand-made", "Value": "yes"})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "drift", "local", "--outdir", str(local.outdir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_VAR_aws_endpoint": emulator.endpoint},
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(f"\nwh drift local: {time.monotonic() - started:.1f}s")
    assert result.returncode == drift.EXIT_DRIFT, result.stderr
    assert "## Drift in local" in result.stdout

    applicable = [s for s in local.stacks if not s.needs_kubernetes]
    found = {d.address: d for s in applicable for d in drift.detect(s, local.target)}
    assert set(found) == {lifecycle["address"], bucket_address}
    assert found[lifecycle["address"]].attributes == ("rule[0].id",)
    # tags_all always; tags too when the bucket sets its own tags (the provider mirrors them).
    assert "tags_all.hand-made" in found[bucket_address].attributes
    assert set(found[bucket_address].attributes) <= {"tags.hand-made", "tags_all.hand-made"}
    for address in found:
        assert f"`{address}`" in result.stdout

    deploy(local.stacks, local.target)  # puts both back
    assert [d for s in applicable for d in drift.detect(s, local.target)] == []


def test_destroy_leaves_nothing_and_deploying_again_gives_the_same_plan(local, emulator):
    bucket = state_resource(local, "local-data-lake", "aws_s3_bucket")[0]["values"]["bucket"]
    s3 = emulator.client("s3")
    for body in (b"v1", b"v2"):  # two versions, then a delete marker: all must go for the bucket to go
        s3.put_object(Bucket=bucket, Key="year=2026/part-0.parquet", Body=body)
    s3.delete_object(Bucket=bucket, Key="year=2026/part-0.parquet")

    started = time.monotonic()
    teardown(local.stacks, local.target)
    destroyed = time.monotonic()
    assert inventory(emulator) - local.baseline == set()

    outcomes = deploy(local.stacks, local.target)
    print(
        f"\nrecreate local: destroy {destroyed - started:.1f}s + deploy {time.monotonic() - destroyed:.1f}s"
    )
    assert plan_shape(outcomes) == local.first_plan
