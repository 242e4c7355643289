"""Drift detection: which deployed resources and attributes were changed outside OpenTofu.

Exit 0: no drift; 2: drift (reported per resource and attribute); 1: an error. The verdict comes from the
`resource_drift` of a saved -refresh-only plan, not from `-detailed-exitcode`, which also answers 2 when
only output values would be refreshed (tests/workflows/test_drift.py shows the difference).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stackset import (
    EXPECTED_ERRORS,
    AwsTarget,
    Stack,
    add_common_arguments,
    aws_target,
    default_outdir,
    report_errors,
    say,
    synthesize,
)

PLAN_FILE = "drift.tfplan"
EXIT_DRIFT = 2


@dataclass(frozen=True)
class Drift:
    stack: str
    address: str
    action: str  # "update" or "delete" (gone outside OpenTofu)
    attributes: tuple[str, ...]


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Attribute paths (a.b[0].c) whose values differ between two JSON values."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in sorted(set(before) | set(after)):
            sub = f"{prefix}.{key}" if prefix else key
            paths += changed_paths(before.get(key), after.get(key), sub)
        return paths
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        paths = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            paths += changed_paths(b, a, f"{prefix}[{index}]")
        return paths
    return [] if before == after else [prefix]


def resource_drift(stack: str, plan: dict[str, Any]) -> list[Drift]:
    found = []
    for rc in plan.get("resource_drift", []):
        change = rc["change"]
        action = "delete" if change["actions"] == ["delete"] else "update"
        paths = () if action == "delete" else tuple(changed_paths(change.get("before"), change.get("after")))
        if action == "delete" or paths:
            found.append(Drift(stack, rc["address"], action, paths))
    return found


def detect(stack: Stack, target: AwsTarget) -> list[Drift]:
    tofu = target.tofu(stack)
    plan_file = stack.workdir / PLAN_FILE
    tofu.init()
    try:
        tofu.plan(plan_file, "-refresh-only")
        return resource_drift(stack.name, tofu.show_json(plan_file))
    finally:
        plan_file.unlink(missing_ok=True)


def render(env: str, drifts: list[Drift]) -> str:
    if not drifts:
        return f"No drift in {env}.\n"
    lines = [
        f"## Drift in {env}",
        "",
        "| stack | resource | drift | attributes |",
        "| --- | --- | --- | --- |",
    ]
    for d in drifts:
        attrs = (
            "deleted outside OpenTofu" if d.action == "delete" else ", ".join(f"`{a}`" for a in d.attributes)
        )
        lines.append(f"| {d.stack} | `{d.address}` | {d.action} | {attrs} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--report", type=Path, help="also write the Markdown report here (the issue body)")


def run(args: argparse.Namespace) -> int:
    outdir: Path = args.outdir or default_outdir()
    try:
        with aws_target(args.env, args.aws_endpoint) as target:
            drifts = []
            for stack in synthesize(args.env, outdir):
                reason = target.skip_reason(stack)
                if reason:
                    say(f"{stack.name}: skipped ({reason})")
                    continue
                drifts += detect(stack, target)
    except EXPECTED_ERRORS as exc:
        return report_errors("drift", exc)
    text = render(args.env, drifts)
    print(text, end="")
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    return EXIT_DRIFT if drifts else 0
