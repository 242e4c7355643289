"""Plan review: plan every stack of the given environments (no apply) and render one Markdown report.

Exit 0 when every plan succeeded and nothing is blocked; 1 when a plan failed or a stateful resource would
be destroyed or replaced in an environment of a gated tier (production) without the approval label
(--labels, from the PR).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.config import load_environment

from . import review, reviewed
from .stackset import (
    EXPECTED_ERRORS,
    AwsTarget,
    Stack,
    TofuError,
    add_common_arguments,
    aws_target,
    report_errors,
    say,
    synthesize,
)

PLAN_FILE = "review.tfplan"


def plan_stack(stack: Stack, target: AwsTarget, save_in: Path | None = None) -> review.StackPlan:
    """Plan one stack; with `save_in` (an environment's directory of reviewed plans) keep the plan there."""
    result = review.StackPlan(stack.name, stack.layer, skipped=target.skip_reason(stack))
    if result.skipped:
        return result
    tofu = target.tofu(stack)
    plan_file = save_in / f"{stack.name}.tfplan" if save_in else stack.workdir / PLAN_FILE
    try:
        tofu.init()
        result.pending = tofu.plan(plan_file)
        result.changes = review.planned_changes(tofu, plan_file, result.pending)
    except TofuError as exc:
        result.error = str(exc)
    finally:
        if save_in is None:
            plan_file.unlink(missing_ok=True)
    return result


def plan_stacks(
    env: str, stacks: list[Stack], target: AwsTarget, save_plans: Path | None = None
) -> list[review.StackPlan]:
    """Plan each stack; with `save_plans`, keep the plans and their manifest in save_plans/env/ when all
    of them succeeded (see infra.workflows.reviewed)."""
    if save_plans is None:
        return [plan_stack(stack, target) for stack in stacks]
    save_in = save_plans.resolve() / env
    save_in.mkdir(parents=True, exist_ok=True)
    plans = [plan_stack(stack, target, save_in) for stack in stacks]
    if not any(p.error for p in plans):
        entries = [
            reviewed.entry(stack, None if p.skipped else save_in / f"{stack.name}.tfplan", pending=p.pending)
            for stack, p in zip(stacks, plans, strict=True)
        ]
        say(f"reviewed plans of {env} kept in {reviewed.save(save_plans.resolve(), env, entries)}")
    return plans


def plan_environment(
    env: str, outdir: Path, endpoint: str | None = None, save_plans: Path | None = None
) -> list[review.StackPlan]:
    with aws_target(env, endpoint) as target:
        return plan_stacks(env, synthesize(env, outdir), target, save_plans)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, many=True)
    parser.add_argument("--markdown", type=Path, help="write the report here (default: stdout)")
    parser.add_argument("--labels", default="", help="comma-separated pull-request labels")
    parser.add_argument(
        "--save-plans",
        type=Path,
        metavar="DIR",
        help="keep each stack's plan and a manifest in DIR/ENV/, for `wh deploy ENV --reviewed-plans DIR`",
    )


def run(args: argparse.Namespace) -> int:
    labels = {label.strip() for label in args.labels.split(",") if label.strip()}
    try:
        plans = {
            env: plan_environment(env, args.outdir, args.aws_endpoint, args.save_plans) for env in args.envs
        }
    except EXPECTED_ERRORS as exc:
        return report_errors("plan", exc)
    tiers = {env: load_environment(env).tier for env in plans}
    text = review.render(plans, labels, tiers)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
        say(f"plan review written to {args.markdown}")
    else:
        sys.stdout.write(text)
    failed = [p.stack for stack_plans in plans.values() for p in stack_plans if p.error]
    blocked = {env: review.blocked(tiers[env], p, labels) for env, p in plans.items()}
    for env, losses in blocked.items():
        if losses:
            say(
                f"wh plan: {env} would destroy or replace stateful resources "
                f"({', '.join(c.address for c in losses)}): the `{review.APPROVAL_LABEL}` label approves it"
            )
    if failed:
        say(f"wh plan: planning failed for {', '.join(failed)}")
    return 1 if failed or any(blocked.values()) else 0
