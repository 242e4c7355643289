"""Deploy one environment: synth, then per stack in dependency order init, plan to a file, apply that plan.

The plan applied is the saved plan that was shown; a stack with nothing to change is not applied. In a
production tier a plan that destroys or replaces a stateful resource is refused unless it is the reviewed
plan (`--reviewed-plans`, see infra.workflows.reviewed), which is then applied as it is. In an
emulated environment the stacks that need a live Kubernetes API are skipped, and said so. The first deploy
of a state stack whose bucket does not exist yet applies on local state and migrates it into that bucket
(infra.workflows.state_bootstrap). Objects changed by hand inside a stack's helm releases, which no plan
shows, are put back as the releases installed them (infra.workflows.release_drift). Interrupting (Ctrl-C,
SIGTERM) lets OpenTofu stop cleanly and save its
state: deploying again converges. A killed run leaves its state lock held: the next deploy names the lock,
its holder and age, and the `tofu force-unlock` that releases it (infra.tofu.runner.lock_report).
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path

from infra.tofu.runner import TofuError
from stacks.app import LAYERS

from . import review, reviewed
from .release_drift import ReleaseObjects, releases
from .stackset import (
    EXPECTED_ERRORS,
    AwsTarget,
    Refused,
    Stack,
    add_common_arguments,
    aws_target,
    report_errors,
    say,
    synthesize,
)
from .state_bootstrap import bootstrap_needed

PLAN_FILE = "deploy.tfplan"
PAST_TENSE = {"add": "added", "change": "changed", "destroy": "destroyed"}
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


def refuse_unreviewed_losses(plan: review.StackPlan, target: AwsTarget) -> None:
    """In a gated tier, a plan that destroys or replaces stateful resources is applied only once reviewed."""
    losses = plan.stateful_losses()
    if losses and target.cfg.tier in review.GATED_TIERS:
        env = target.cfg.name
        raise Refused(
            f"{plan.stack}: refusing to apply a plan that destroys or replaces stateful resources "
            f"({', '.join(c.address for c in losses)}) in {env!r}, of tier {target.cfg.tier!r}, unreviewed: "
            f"review it (`wh plan {env} --save-plans DIR`, approved with the `{review.APPROVAL_LABEL}` "
            f"label) and apply that plan with `wh deploy {env} --reviewed-plans DIR`"
        )


def apply_reviewed(
    stack: Stack, target: AwsTarget, plan_file: Path, entry: reviewed.ReviewedStack
) -> Outcome:
    """Apply the reviewed plan file as it is (reviewed.check has verified it)."""
    started = time.monotonic()
    plan = review.StackPlan(stack.name, stack.layer)
    tofu = target.tofu(stack)
    tofu.init()
    plan.changes = review.changes(tofu.show_json(plan_file))
    if entry.pending:
        try:
            tofu.apply(plan_file)
        except TofuError as exc:
            if "Saved plan is stale" not in exc.output:
                raise
            env = target.cfg.name
            raise Refused(
                f"{stack.name}: its state changed since the plan was reviewed (OpenTofu refuses the stale "
                f"plan): {reviewed.RERUN.format(env=env)}"
            ) from None
    seconds = time.monotonic() - started
    say(f"{stack.name}: reviewed plan {'applied' if entry.pending else 'has no changes'} in {seconds:.1f}s")
    return Outcome(plan, entry.pending, seconds)


def restore_releases(stack: Stack, tofu, target: AwsTarget) -> None:
    """Objects changed inside the stack's helm releases go back to the releases' manifests (no plan shows
    them: infra.workflows.release_drift)."""
    state = tofu.show_json()
    if not releases(state):
        return
    objects = ReleaseObjects(target)
    drifted = objects.drift(state)
    if drifted:
        objects.restore(drifted)
        restored = ", ".join(a for d in drifted for a in d.attributes)
        say(f"{stack.name}: restored what was changed inside its helm releases: {restored}")


def deploy_stack(
    stack: Stack,
    target: AwsTarget,
    *,
    upgrade: bool = False,
    reviewed_plan: tuple[Path, reviewed.ReviewedStack] | None = None,
) -> Outcome:
    """Plan and apply one stack, or with `reviewed_plan` (file, manifest entry) apply that plan."""
    started = time.monotonic()
    plan = review.StackPlan(stack.name, stack.layer)
    reason = target.skip_reason(stack)
    if reason:
        plan.skipped = reason
        say(f"{stack.name}: skipped ({reason})")
        return Outcome(plan, False, 0.0)
    if reviewed_plan is not None:
        return apply_reviewed(stack, target, *reviewed_plan)
    tofu = target.tofu(stack)
    bootstrap = bootstrap_needed(stack, target)
    if bootstrap:
        bootstrap.start(tofu, upgrade=upgrade)
    else:
        tofu.init(upgrade=upgrade)
    plan_file = stack.workdir / PLAN_FILE
    try:
        pending = tofu.plan(plan_file)
        plan.changes = review.planned_changes(tofu, plan_file, pending)
        refuse_unreviewed_losses(plan, target)
        if pending:
            try:
                tofu.apply(plan_file)
            except TofuError as exc:
                adopted = adopt_unrecorded_buckets(tofu, target, exc.output)
                if not adopted:
                    raise
                say(f"{stack.name}: adopted {', '.join(adopted)} left unrecorded by an interrupted apply")
                plan.changes = review.planned_changes(tofu, plan_file, tofu.plan(plan_file))
                refuse_unreviewed_losses(plan, target)
                tofu.apply(plan_file)
    finally:
        plan_file.unlink(missing_ok=True)
    if bootstrap:
        bootstrap.finish(tofu)
    if "helm" in stack.providers:
        restore_releases(stack, tofu, target)
    seconds = time.monotonic() - started
    counts = ", ".join(f"{plan.count(k)} to {k}" for k in ("add", "change", "destroy"))
    say(f"{stack.name}: {'applied' if pending else 'no changes'} ({counts}) in {seconds:.1f}s")
    return Outcome(plan, pending, seconds)


def deploy(
    stacks: list[Stack], target: AwsTarget, *, upgrade: bool = False, reviewed_plans: Path | None = None
) -> list[Outcome]:
    """Every stack in order; with `reviewed_plans` (a `wh plan --save-plans` directory) exactly those plans,
    all checked before the first is applied."""
    if reviewed_plans is None:
        return [deploy_stack(stack, target, upgrade=upgrade) for stack in stacks]
    env = target.cfg.name
    entries = reviewed.load(reviewed_plans, env)
    reviewed.check(env, reviewed_plans, stacks, entries)
    return [
        deploy_stack(
            stack,
            target,
            reviewed_plan=(reviewed_plans.resolve() / env / e.plan, e) if e.plan else None,
        )
        for stack, e in zip(stacks, entries, strict=True)
    ]


def select(stacks: list[Stack], layers: list[str] | None) -> list[Stack]:
    """The stacks of the chosen layers, still in dependency order (all of them without a choice)."""
    return stacks if not layers else [stack for stack in stacks if stack.layer in layers]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--stacks",
        nargs="+",
        choices=list(LAYERS),
        metavar="LAYER",
        help=f"deploy only these layers, in dependency order ({', '.join(LAYERS)}); "
        "the stacks they depend on must be deployed already",
    )
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="re-lock providers against the mirror (after a toolchain change)",
    )
    parser.add_argument(
        "--reviewed-plans",
        type=Path,
        metavar="DIR",
        help="apply exactly the plans `wh plan ENV --save-plans DIR` kept (checked by hash), or refuse",
    )


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        with aws_target(args.env, args.aws_endpoint) as target:
            if args.stacks and args.reviewed_plans:
                raise Refused("--reviewed-plans applies every reviewed stack: it takes no --stacks")
            stacks = select(synthesize(args.env, args.outdir), args.stacks)
            outcomes = deploy(stacks, target, upgrade=args.upgrade, reviewed_plans=args.reviewed_plans)
    except EXPECTED_ERRORS as exc:
        return report_errors("deploy", exc)
    applied = sum(o.applied for o in outcomes)
    say(
        f"deploy {args.env}: {applied} of {len(outcomes)} stacks changed in {time.monotonic() - started:.1f}s"
    )
    say(summary(outcomes))
    return 0


def summary(outcomes: list[Outcome]) -> str:
    """One line per stack: what its apply did to how many resources, or why it was not applied."""
    width = max((len(o.plan.stack) for o in outcomes), default=0)
    lines = []
    for o in outcomes:
        if o.plan.skipped:
            done = f"skipped ({o.plan.skipped})"
        else:
            counts = ", ".join(f"{o.plan.count(kind)} {done}" for kind, done in PAST_TENSE.items())
            done = f"{'applied' if o.applied else 'no changes'}: {counts}, {o.seconds:.0f}s"
        lines.append(f"  {o.plan.stack:<{width}}  {done}")
    return "\n".join(lines)
