"""Drift detection: which deployed resources and attributes were changed outside OpenTofu.

Exit 0: no drift; 2: drift (reported per resource and attribute); 1: an error.

Drift is what a user would act on: an attribute that changed outside OpenTofu (the saved plan's
`resource_drift`, state before vs after refresh) AND that a normal plan would change back (its
`resource_changes`, refreshed vs planned). Either alone is wrong:
- `resource_drift` alone also names what the provider merely reads back differently from what it stored
  at apply (computed or deprecated attributes, null vs empty tags); a plan ignores those, so drift does.
- `resource_changes` alone also names code not yet deployed; those are noted, not counted as drift.
Inside a helm_release, which a plan sees as chart and values only, drift is each object field the release's
manifest sets and the live object no longer holds (infra.workflows.release_drift), named
`resources.<kind>/<version>/<namespace>/<name>.<field>`; `wh deploy` puts those back.
Neither exit code is the verdict: `-refresh-only -detailed-exitcode` answers 2 for read-back noise and for
a new output alone (tests/ops/workflows/test_drift_detection.py shows both).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .json_paths import changed_paths
from .release_drift import ObjectDrift, ReleaseObjects, releases
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

PLAN_FILE = "drift.tfplan"
EXIT_DRIFT = 2


@dataclass(frozen=True)
class Drift:
    stack: str
    address: str
    action: str  # "update", "replace", or "delete" (gone outside OpenTofu; the plan creates it again)
    attributes: tuple[str, ...]


def unknown_paths(after_unknown: Any, prefix: str = "") -> list[str]:
    """Paths the plan marks `(known after apply)`: they change, to a value not yet known."""
    if after_unknown is True:
        return [prefix]
    if isinstance(after_unknown, dict):
        items = ((f"{prefix}.{k}" if prefix else k, v) for k, v in after_unknown.items())
    elif isinstance(after_unknown, list):
        items = ((f"{prefix}[{i}]", v) for i, v in enumerate(after_unknown))
    else:
        return []
    return [path for sub, value in items for path in unknown_paths(value, sub)]


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith((f"{ancestor}.", f"{ancestor}["))


def overlap(outside: list[str], planned: list[str]) -> list[str]:
    """The paths both changed outside and planned back, at the finer of two nested paths."""
    found = {p for p in planned for o in outside if _within(p, o)}
    found |= {o for o in outside for p in planned if _within(o, p)}
    return sorted(found)


def _kind(actions: list[str]) -> str:
    if "delete" in actions and "create" in actions:
        return "replace"
    return "update"


def drifts(stack: str, plan: dict[str, Any]) -> tuple[list[Drift], list[str]]:
    """(drift, addresses the plan changes for another reason: code not yet deployed) of one saved plan."""
    outside = {rc["address"]: rc["change"] for rc in plan.get("resource_drift", [])}
    found, undeployed = [], []
    for rc in plan.get("resource_changes", []):
        change = rc["change"]
        if change["actions"] in (["no-op"], ["read"]):
            continue
        address = rc["address"]
        drifted = outside.get(address)
        if drifted is not None and drifted["actions"] == ["delete"]:
            found.append(Drift(stack, address, "delete", ()))
            continue
        planned = changed_paths(change.get("before"), change.get("after"))
        planned += unknown_paths(change.get("after_unknown"))
        changed_outside = changed_paths(drifted.get("before"), drifted.get("after")) if drifted else []
        attributes = overlap(changed_outside, planned)
        if attributes:
            found.append(Drift(stack, address, _kind(change["actions"]), tuple(attributes)))
        else:
            undeployed.append(address)
    return found, undeployed


def with_release_drift(stack: str, found: list[Drift], inside: list[ObjectDrift]) -> list[Drift]:
    """The plan's drift and the drift inside its helm releases, one entry per resource."""
    by_address = {d.address: d for d in found}
    for d in inside:
        known = by_address.get(d.address)
        attributes = (known.attributes if known else ()) + d.attributes
        by_address[d.address] = Drift(stack, d.address, known.action if known else "update", attributes)
    return list(by_address.values())


def detect(stack: Stack, target: AwsTarget) -> list[Drift]:
    tofu = target.tofu(stack)
    plan_file = stack.workdir / PLAN_FILE
    tofu.init()
    try:
        tofu.plan(plan_file)  # a normal plan, refreshing first: the drift it would undo is what matters
        plan = tofu.show_json(plan_file)
    finally:
        plan_file.unlink(missing_ok=True)
    found, undeployed = drifts(stack.name, plan)
    if undeployed:
        say(f"{stack.name}: not drift, code not deployed yet: the plan also changes {', '.join(undeployed)}")
    prior = plan.get("prior_state", {})
    if releases(prior):
        found = with_release_drift(stack.name, found, ReleaseObjects(target).drift(prior))
    return found


def render(env: str, found: list[Drift]) -> str:
    if not found:
        return f"No drift in {env}.\n"
    lines = [
        f"## Drift in {env}",
        "",
        "| stack | resource | drift | attributes |",
        "| --- | --- | --- | --- |",
    ]
    for d in found:
        attrs = (
            "deleted outside OpenTofu" if d.action == "delete" else ", ".join(f"`{a}`" for a in d.attributes)
        )
        lines.append(f"| {d.stack} | `{d.address}` | {d.action} | {attrs} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--report", type=Path, help="also write the Markdown report here (the issue body)")


def run(args: argparse.Namespace) -> int:
    try:
        with aws_target(args.env, args.aws_endpoint) as target:
            found = []
            for stack in synthesize(args.env, args.outdir):
                reason = target.skip_reason(stack)
                if reason:
                    say(f"{stack.name}: skipped ({reason})")
                    continue
                found += detect(stack, target)
    except EXPECTED_ERRORS as exc:
        return report_errors("drift", exc)
    text = render(args.env, found)
    print(text, end="")
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    return EXIT_DRIFT if found else 0
