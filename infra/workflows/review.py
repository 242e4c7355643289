"""Plan review: what a saved plan (tofu show -json) would do, rendered as one Markdown pull-request comment.

Destroys and replacements of stateful resources get their own loud section; in an environment of a gated
tier (its config file's `tier`) they fail the check unless the pull request carries APPROVAL_LABEL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Found by the workflow to update its one comment in place.
MARKER = "<!-- waardhaven:plan-review -->"
APPROVAL_LABEL = "approve-stateful-destroy"
GATED_TIERS = frozenset({"production"})
# Resources whose loss loses data or identity that cannot be recreated as it was.
STATEFUL_TYPES = frozenset(
    {
        "aws_s3_bucket",
        "aws_kms_key",
        "aws_eks_cluster",
        "aws_db_instance",
        "aws_rds_cluster",
        "aws_dynamodb_table",
        "aws_ebs_volume",
        "aws_efs_file_system",
        "aws_msk_cluster",
        "kubernetes_persistent_volume_claim_v1",
    }
)
STATE_LAYER = "state"  # every resource of the state stack holds the other stacks' state


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    actions: tuple[str, ...]

    @property
    def is_replace(self) -> bool:
        return "delete" in self.actions and "create" in self.actions

    @property
    def kind(self) -> str:
        if self.is_replace:
            return "replace"
        names = {"create": "add", "update": "change", "delete": "destroy"}
        return names.get(self.actions[0], self.actions[0])


@dataclass
class StackPlan:
    """One stack's plan, or why it has none (skipped, or the error OpenTofu gave)."""

    stack: str
    layer: str
    changes: list[Change] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    pending: bool = False  # the plan changes something (resources or outputs)

    def count(self, kind: str) -> int:
        # As OpenTofu counts: a replacement is one add and one destroy.
        if kind == "add":
            return sum(1 for c in self.changes if "create" in c.actions)
        if kind == "destroy":
            return sum(1 for c in self.changes if "delete" in c.actions)
        return sum(1 for c in self.changes if c.kind == kind)

    def stateful_losses(self) -> list[Change]:
        return [
            c
            for c in self.changes
            if "delete" in c.actions and (c.type in STATEFUL_TYPES or self.layer == STATE_LAYER)
        ]


def planned_changes(tofu, plan_file: Path, pending: bool) -> list[Change]:
    """The saved plan's changes. A plan OpenTofu found nothing to change in (`pending` false) has none, and
    its `show -json`, which starts every provider of the stack for its schema, is not run."""
    return changes(tofu.show_json(plan_file)) if pending else []


def changes(plan: dict[str, Any]) -> list[Change]:
    """Managed-resource changes of a `tofu show -json` plan, no-ops and reads left out."""
    found = []
    for rc in plan.get("resource_changes", []):
        actions = tuple(rc["change"]["actions"])
        if rc.get("mode") == "managed" and actions not in (("no-op",), ("read",)):
            found.append(Change(rc["address"], rc["type"], actions))
    return found


def blocked(tier: str, plans: list[StackPlan], labels: set[str]) -> list[Change]:
    """The stateful losses that fail the check: in a gated tier, without the approval label."""
    if tier not in GATED_TIERS or APPROVAL_LABEL in labels:
        return []
    return [c for p in plans for c in p.stateful_losses()]


def render(plans_by_env: dict[str, list[StackPlan]], labels: set[str], tiers: dict[str, str]) -> str:
    """The review comment; `tiers` maps each environment to its config's tier."""
    lines = [MARKER, "## OpenTofu plan review", ""]
    losses = [
        (env, p.stack, c) for env, plans in plans_by_env.items() for p in plans for c in p.stateful_losses()
    ]
    if losses:
        lines += [
            "### :warning: STATEFUL RESOURCES WOULD BE DESTROYED OR REPLACED",
            "",
            "| environment | stack | resource | action |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {env} | {stack} | `{c.address}` | **{c.kind.upper()}** |" for env, stack, c in losses]
        lines.append("")
        for env, plans in plans_by_env.items():
            if blocked(tiers[env], plans, labels):
                lines.append(
                    f"**{env}: this check fails** until the pull request has the `{APPROVAL_LABEL}` label."
                )
        lines.append("")
    for env, plans in plans_by_env.items():
        lines += [
            f"### {env}",
            "",
            "| stack | add | change | destroy | replace |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in plans:
            if p.skipped or p.error:
                note = f"not planned: {p.skipped}" if p.skipped else "**plan failed** (below)"
                lines.append(f"| {p.stack} | {note} | | | |")
            else:
                counts = " | ".join(str(p.count(k)) for k in ("add", "change", "destroy", "replace"))
                lines.append(f"| {p.stack} | {counts} |")
        lines.append("")
        for p in plans:
            if p.error:
                lines += [
                    f"<details><summary>{p.stack}: plan failed</summary>",
                    "",
                    "```",
                    p.error,
                    "```",
                    "</details>",
                ]
            elif p.changes:
                lines += [f"<details><summary>{p.stack}: {len(p.changes)} changes</summary>", ""]
                lines += [f"- `{c.address}`: {c.kind}" for c in p.changes]
                lines += ["", "</details>"]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
