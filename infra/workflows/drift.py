"""Drift detection: which deployed resources and attributes were changed outside OpenTofu.

Exit 0: no drift; 2: drift (reported per resource and attribute); 1: an error.

Drift is what a user would act on: an attribute that changed outside OpenTofu (the saved plan's
`resource_drift`, state before vs after refresh) AND that a normal plan would change back (its
`resource_changes`, refreshed vs planned). Either alone is wrong:
- `resource_drift` alone also names what the provider merely reads back differently from what it stored
  at apply (computed or deprecated attributes, null vs empty tags); a plan ignores those, so drift does.
- `resource_changes` alone also names code not yet deployed; those are noted, not counted as drift.
Neither exit code is the verdict: `-refresh-only -detailed-exitcode` answers 2 for read-back noise and for
a new output alone (tests/ops/workflows/test_drift_detection.py shows both).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _json_document(value: Any) -> Any:
    try:
        document = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return document if isinstance(document, dict | list) else None


def changed_paths(before: Any, after: Any, prefix: str = "", *, inside_json: bool = False) -> list[str]:
    """Attribute paths (a.b[0].c) whose values differ between two JSON values; with `inside_json`, into
    string values that hold JSON documents too (a helm_release's `resources`: each object as JSON)."""
    if inside_json and before != after:
        documents = _json_document(before), _json_document(after)
        if None not in documents:
            before, after = documents
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in sorted(set(before) | set(after)):
            sub = f"{prefix}.{key}" if prefix else key
            paths += changed_paths(before.get(key), after.get(key), sub, inside_json=inside_json)
        return paths
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        paths = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            paths += changed_paths(b, a, f"{prefix}[{index}]", inside_json=inside_json)
        return paths
    return [] if before == after else [prefix]


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
        # A helm_release with the provider's manifest experiment holds its objects as they are live.
        inside_json = rc.get("type") == "helm_release"
        planned = changed_paths(change.get("before"), change.get("after"), inside_json=inside_json)
        planned += unknown_paths(change.get("after_unknown"))
        changed_outside = (
            changed_paths(drifted.get("before"), drifted.get("after"), inside_json=inside_json)
            if drifted
            else []
        )
        attributes = overlap(changed_outside, planned)
        if attributes:
            found.append(Drift(stack, address, _kind(change["actions"]), tuple(attributes)))
        else:
            undeployed.append(address)
    return found, undeployed


def detect(stack: Stack, target: AwsTarget) -> list[Drift]:
    tofu = target.tofu(stack)
    plan_file = stack.workdir / PLAN_FILE
    tofu.init()
    try:
        tofu.plan(plan_file)  # a normal plan, refreshing first: the drift it would undo is what matters
        found, undeployed = drifts(stack.name, tofu.show_json(plan_file))
    finally:
        plan_file.unlink(missing_ok=True)
    if undeployed:
        say(f"{stack.name}: not drift, code not deployed yet: the plan also changes {', '.join(undeployed)}")
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
