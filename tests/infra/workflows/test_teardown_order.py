"""Teardown order on moto with real OpenTofu: a bucket is emptied only once the destroy of the rest of its
stack succeeded, so a destroy that fails loses no data; once the blocker is gone, a second run finishes."""

from __future__ import annotations

import json
import uuid

import pytest

from infra.config import load_environment
from infra.tofu.runner import TofuError
from infra.workflows.stackset import AwsTarget, Stack
from infra.workflows.teardown import destroy_stack

ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture
def stack_with_data(tofu_in, write_config, bucket_config, emulator):
    """A bucket holding two object versions and a role that uses it, deployed on moto."""
    name = f"wh-order-{uuid.uuid4().hex[:8]}"
    role = {"aws_iam_role": {"reader": {"name": name, "assume_role_policy": json.dumps(ASSUME)}}}
    config = bucket_config({"data": {"bucket": name, "force_destroy": True}}, resource=role)
    config["provider"]["aws"][0]["endpoints"][0]["iam"] = "${var.aws_endpoint}"
    write_config(config)
    tofu_in.init()
    plan = tofu_in.workdir / "deploy.tfplan"
    tofu_in.plan(plan)
    tofu_in.apply(plan)
    s3 = emulator.client("s3")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=name, Key="part-0.parquet", Body=body)
    target = AwsTarget(load_environment("local"), emulator.endpoint, emulator.tofu_env())
    return Stack("test-stack", "data-lake", tofu_in.workdir, False), target, name


def versions(emulator, bucket: str) -> int:
    return len(emulator.client("s3").list_object_versions(Bucket=bucket).get("Versions", []))


def test_a_failed_destroy_leaves_the_bucket_and_its_data(stack_with_data, emulator):
    stack, target, name = stack_with_data
    iam = emulator.client("iam")
    # Attached outside OpenTofu: deleting the role fails (DeleteConflict) until it is detached.
    policy = iam.create_policy(
        PolicyName=name,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
                ],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy)

    with pytest.raises(TofuError, match="aws_iam_role.reader|DeleteConflict"):
        destroy_stack(stack, target)
    assert versions(emulator, name) == 2, "a failed destroy must not have emptied the bucket"

    iam.detach_role_policy(RoleName=name, PolicyArn=policy)
    destroy_stack(stack, target)
    assert name not in {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}
    assert name not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_a_destroy_that_cannot_be_planned_changes_nothing(stack_with_data, emulator, write_config, tofu_in):
    stack, target, name = stack_with_data
    config = json.loads((tofu_in.workdir / "cdk.tf.json").read_text())
    config["resource"]["aws_iam_role"]["reader"]["lifecycle"] = {"prevent_destroy": True}
    write_config(config)
    with pytest.raises(TofuError, match="prevent_destroy"):
        destroy_stack(stack, target)
    assert versions(emulator, name) == 2
    assert name in {r["RoleName"] for r in emulator.client("iam").list_roles()["Roles"]}
