"""Ordered teardown of an ephemeral environment, cleaning what is known to block destroying or recreating it.

Stacks go in reverse dependency order: workloads (platform), operators, cluster (irsa, eks), data (data-lake,
kms), network, state; a failed destroy stops the teardown there, so the buckets of the stacks after it (the
data, the states) keep what they hold. The state stack's own state leaves its bucket before that bucket is
destroyed (infra.workflows.state_bootstrap). Around OpenTofu's destroy of a stack:
  before: the whole destroy is planned (a prevent_destroy or a plan error stops here, nothing changed);
          load-balancer ENIs left by Kubernetes services are deleted, or the subnets and VPC cannot go;
          versioned buckets are emptied (every version and delete marker), or the bucket delete fails;
  after:  the log group EKS creates itself (/aws/eks/<cluster>/cluster) is deleted, or the next create of
          the cluster's log group fails; KMS aliases still naming the destroyed keys are deleted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from infra.config import EnvironmentConfig, load_environment
from infra.config.model import control_plane_log_group

from .stackset import (
    EXPECTED_ERRORS,
    AwsTarget,
    Refused,
    Stack,
    aws_target,
    report_errors,
    say,
    synthesize,
)
from .state_bootstrap import Bootstrap, init_for_destroy

# Environments of these tiers (their config file's `tier`) are never torn down by this tool.
PROTECTED_TIERS = frozenset({"production", "staging"})
PLAN_FILE = "destroy.tfplan"


def refuse_protected(cfg: EnvironmentConfig) -> None:
    if cfg.tier in PROTECTED_TIERS:
        raise Refused(
            f"refusing to tear down {cfg.name!r}: it is of tier {cfg.tier!r}, and environments of tiers "
            f"{', '.join(sorted(PROTECTED_TIERS))} are never destroyed by this tool, whatever the flags"
        )


def _resources(state: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    """Resources of one type in a `tofu show -json` state, across child modules."""
    found = []
    modules = [state.get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop()
        found += [
            r["values"]
            for r in module.get("resources", [])
            if r.get("type") == type_ and r["mode"] == "managed"
        ]
        modules += module.get("child_modules", [])
    return found


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were deleted."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def delete_load_balancer_enis(ec2: Any, vpc_ids: list[str]) -> int:
    if not vpc_ids:
        return 0
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])[
        "NetworkInterfaces"
    ]
    deleted = 0
    for eni in enis:
        if eni.get("InterfaceType") in ("network_load_balancer", "gateway_load_balancer") or eni.get(
            "Description", ""
        ).startswith("ELB "):
            attachment = eni.get("Attachment")
            if attachment and attachment.get("AttachmentId"):
                ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
            ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
            deleted += 1
    return deleted


def delete_eks_log_groups(logs: Any, clusters: list[str]) -> int:
    deleted = 0
    for cluster in clusters:
        name = control_plane_log_group(cluster)
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        if any(g["logGroupName"] == name for g in groups):
            logs.delete_log_group(logGroupName=name)
            deleted += 1
    return deleted


def delete_kms_aliases(kms: Any, aliases: list[str]) -> int:
    existing = {
        a["AliasName"] for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]
    }
    for alias in set(aliases) & existing:
        kms.delete_alias(AliasName=alias)
    return len(set(aliases) & existing)


def destroy_stack(stack: Stack, target: AwsTarget) -> None:
    reason = target.skip_reason(stack)
    if reason:
        say(f"{stack.name}: skipped ({reason})")
        return
    tofu = target.tofu(stack)
    prepared = init_for_destroy(stack, target, tofu)
    if not prepared:
        return
    state = tofu.show_json()
    if not state.get("values"):
        if isinstance(prepared, Bootstrap):
            prepared.destroyed()
        say(f"{stack.name}: nothing deployed")
        return
    plan_file = stack.workdir / PLAN_FILE
    try:
        tofu.plan(plan_file, "-destroy")  # all of it can go: checked before anything changes
        vpcs = [v["id"] for v in _resources(state, "aws_vpc")]
        if vpcs and (count := delete_load_balancer_enis(target.client("ec2"), vpcs)):
            say(f"{stack.name}: deleted {count} load-balancer network interface(s)")
        buckets = [b["bucket"] for b in _resources(state, "aws_s3_bucket")]
        if buckets:
            s3 = target.client("s3")
            emptied = sum(empty_bucket(s3, bucket) for bucket in buckets)
            say(f"{stack.name}: emptied {len(buckets)} bucket(s): {emptied} object versions, delete markers")
        tofu.apply(plan_file)
    finally:
        plan_file.unlink(missing_ok=True)
    if isinstance(prepared, Bootstrap):
        prepared.destroyed()
    clusters = [c["name"] for c in _resources(state, "aws_eks_cluster")]
    if clusters and (count := delete_eks_log_groups(target.client("logs"), clusters)):
        say(f"{stack.name}: deleted {count} leftover EKS log group(s)")
    aliases = [a["name"] for a in _resources(state, "aws_kms_alias")]
    if aliases and (count := delete_kms_aliases(target.client("kms"), aliases)):
        say(f"{stack.name}: deleted {count} leftover KMS alias(es)")
    say(f"{stack.name}: destroyed")


def teardown(stacks: list[Stack], target: AwsTarget) -> None:
    refuse_protected(target.cfg)
    for stack in reversed(stacks):
        destroy_stack(stack, target)


def run_teardown(
    command: str,
    args: argparse.Namespace,
    then: Callable[[list[Stack], AwsTarget], object] | None = None,
    confirm: Callable[[], None] | None = None,
) -> int:
    """The body of `wh destroy` and `wh recreate`: refuse, confirm, synthesize, tear down, then `then`."""
    started = time.monotonic()
    try:
        refuse_protected(load_environment(args.env))  # before anything is synthesized or started
        if confirm is not None:
            confirm()
        with aws_target(args.env, args.aws_endpoint) as target:
            stacks = synthesize(args.env, args.outdir)
            teardown(stacks, target)
            if then is not None:
                say(f"{command} {args.env}: torn down in {time.monotonic() - started:.1f}s")
                then(stacks, target)
    except EXPECTED_ERRORS as exc:
        return report_errors(command, exc)
    say(f"{command} {args.env}: done in {time.monotonic() - started:.1f}s")
    return 0
