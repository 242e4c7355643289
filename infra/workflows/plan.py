"""Plan review: plan every stack of the given environments (no apply) and render one Markdown report.

Exit 0 when every plan succeeded and nothing is blocked; 1 when a plan failed or a stateful resource would
be destroyed or replaced in a gated environment (prod) without the approval label (--labels, from the PR).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import review
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


def plan_stack(stack: Stack, target: AwsTarget) -> review.StackPlan:
    result = review.StackPlan(stack.name, stack.layer, skipped=target.skip_reason(stack))
    if result.skipped:
        return result
    tofu = target.tofu(stack)
    plan_file = stack.workdir / PLAN_FILE
    try:
        tofu.init()
        tofu.plan(plan_file)
        result.changes = review.changes(tofu.show_json(plan_file))
    except TofuError as exc:
        result.error = str(exc)
    finally:
        plan_file.unlink(missing_ok=True)
    return result


def plan_environment(env: str, outdir: Path, endpoint: str | None = None) -> list[review.StackPlan]:
    with aws_target(env, endpoint) as target:
        return [plan_stack(stack, target) for stack in synthesize(env, outdir)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, many=True)
    parser.add_argument("--markdown", type=Path, help="write the report here (default: stdout)")
    parser.add_argument("--labels", default="", help="comma-separated pull-request labels")


def run(args: argparse.Namespace) -> int:
    labels = {label.strip() for label in args.labels.split(",") if label.strip()}
    try:
        plans = {env: plan_environment(env, args.outdir, args.aws_endpoint) for env in args.envs}
    except EXPECTED_ERRORS as exc:
        return report_errors("plan", exc)
    text = review.render(plans, labels)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
        say(f"plan review written to {args.markdown}")
    else:
        sys.stdout.write(text)
    failed = [p.stack for stack_plans in plans.values() for p in stack_plans if p.error]
    blocked = {env: review.blocked(env, p, labels) for env, p in plans.items()}
    for env, losses in blocked.items():
        if losses:
            say(
                f"wh plan: {env} would destroy or replace stateful resources "
                f"({', '.join(c.address for c in losses)}): the `{review.APPROVAL_LABEL}` label approves it"
            )
    if failed:
        say(f"wh plan: planning failed for {', '.join(failed)}")
    return 1 if failed or any(blocked.values()) else 0
