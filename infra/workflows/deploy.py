"""Deploy one environment: synth, then per stack in dependency order init, plan to a file, apply that plan.

The plan applied is the saved plan that was shown; a stack with nothing to change is not applied. In an
emulated environment the stacks that need a live Kubernetes API are skipped, and said so. Interrupting
(Ctrl-C, SIGTERM) lets OpenTofu stop cleanly and save its state: deploying again converges.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass

from infra.tofu.runner import TofuError

from . import review
from .stackset import (
    EXPECTED_ERRORS,
    AwsTarget,
    Stack,
    add_common_arguments,
    aws_target,
    report_errors,
    say,
    synthesize,
)

PLAN_FILE = "deploy.tfplan"
# An apply cut short can leave a bucket created but not recorded; the next create of it fails like this.
_UNRECORDED_BUCKET = re.compile(
    r"Error: creating S3 Bucket \(([^)]+)\): BucketAlready(?:Exists|OwnedByYou)"
    r".*?with (aws_s3_bucket\.[\w-]+)",
    re.S,
)


@dataclass
class Outcome:
    plan: review.StackPlan
    applied: bool
    seconds: float


def adopt_unrecorded_buckets(tofu, target: AwsTarget, output: str) -> list[str]:
    """Import the buckets an interrupted apply created but did not record, when they are ours."""
    from botocore.exceptions import ClientError

    s3 = target.client("s3")
    adopted = []
    for bucket, address in _UNRECORDED_BUCKET.findall(output):
        try:
            s3.head_bucket(Bucket=bucket)  # 403 when the name belongs to someone else: leave it
        except ClientError:
            continue
        tofu.run("import", "-input=false", "-no-color", address, bucket)
        adopted.append(address)
    return adopted


def deploy_stack(stack: Stack, target: AwsTarget, *, upgrade: bool = False) -> Outcome:
    started = time.monotonic()
    plan = review.StackPlan(stack.name, stack.layer)
    reason = target.skip_reason(stack)
    if reason:
        plan.skipped = reason
        say(f"{stack.name}: skipped ({reason})")
        return Outcome(plan, False, 0.0)
    tofu = target.tofu(stack)
    tofu.init(upgrade=upgrade)
    plan_file = stack.workdir / PLAN_FILE
    try:
        pending = tofu.plan(plan_file)
        plan.changes = review.changes(tofu.show_json(plan_file))
        if pending:
            try:
                tofu.apply(plan_file)
            except TofuError as exc:
                adopted = adopt_unrecorded_buckets(tofu, target, exc.output)
                if not adopted:
                    raise
                say(f"{stack.name}: adopted {', '.join(adopted)} left unrecorded by an interrupted apply")
                tofu.plan(plan_file)
                tofu.apply(plan_file)
    finally:
        plan_file.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    counts = ", ".join(f"{plan.count(k)} to {k}" for k in ("add", "change", "destroy"))
    say(f"{stack.name}: {'applied' if pending else 'no changes'} ({counts}) in {seconds:.1f}s")
    return Outcome(plan, pending, seconds)


def deploy(stacks: list[Stack], target: AwsTarget, *, upgrade: bool = False) -> list[Outcome]:
    return [deploy_stack(stack, target, upgrade=upgrade) for stack in stacks]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="re-lock providers against the mirror (after a toolchain change)",
    )


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        with aws_target(args.env, args.aws_endpoint) as target:
            outcomes = deploy(synthesize(args.env, args.outdir), target, upgrade=args.upgrade)
    except EXPECTED_ERRORS as exc:
        return report_errors("deploy", exc)
    applied = sum(o.applied for o in outcomes)
    say(
        f"deploy {args.env}: {applied} of {len(outcomes)} stacks changed in {time.monotonic() - started:.1f}s"
    )
    return 0
