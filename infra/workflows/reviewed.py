"""The reviewed plan is the applied plan.

`wh plan ENV --save-plans DIR` keeps each stack's saved plan in DIR/ENV/ with a manifest: the stacks in
order, the sha256 of each plan file and of each stack's synthesized configuration. `wh deploy ENV
--reviewed-plans DIR` applies exactly those files, after checking that the stacks, the plan files and the
synthesized configurations are the ones reviewed; anything else is refused with "re-run the plan review".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .stackset import Refused, Stack

MANIFEST = "manifest.json"
RERUN = "re-run the plan review (`wh plan {env} --save-plans DIR`) and deploy its plans"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class ReviewedStack:
    name: str
    config_sha256: str
    plan: str | None = None  # file name in the environment's directory; None: not planned (skipped)
    plan_sha256: str | None = None
    pending: bool = False  # the plan changes something


def plan_path(directory: Path, env: str, stack: Stack) -> Path:
    path = directory.resolve() / env / f"{stack.name}.tfplan"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def entry(stack: Stack, plan_file: Path | None = None, *, pending: bool = False) -> ReviewedStack:
    if plan_file is None:
        return ReviewedStack(stack.name, sha256(stack.config))
    return ReviewedStack(stack.name, sha256(stack.config), plan_file.name, sha256(plan_file), pending)


def save(directory: Path, env: str, entries: list[ReviewedStack]) -> Path:
    path = directory / env / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": env, "stacks": [asdict(e) for e in entries]}, indent=2))
    return path


def load(directory: Path, env: str) -> list[ReviewedStack]:
    path = directory / env / MANIFEST
    rerun = RERUN.format(env=env)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["environment"] != env:
            raise Refused(f"{path} reviews {data['environment']!r}, not {env!r}: {rerun}")
        return [ReviewedStack(**s) for s in data["stacks"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Refused(f"no readable reviewed plans for {env!r} at {path} ({exc}): {rerun}") from None


def check(env: str, directory: Path, stacks: list[Stack], reviewed: list[ReviewedStack]) -> None:
    """Refuse unless the stacks, their synthesized configurations and the plan files are those reviewed."""
    rerun = RERUN.format(env=env)
    if [s.name for s in stacks] != [r.name for r in reviewed]:
        raise Refused(f"the stacks of {env!r} are not the ones reviewed: {rerun}")
    for stack, r in zip(stacks, reviewed, strict=True):
        if sha256(stack.config) != r.config_sha256:
            raise Refused(f"{stack.name}: its configuration changed since the plan review: {rerun}")
        if r.plan is None:
            continue
        plan_file = directory / env / r.plan
        if not plan_file.is_file() or sha256(plan_file) != r.plan_sha256:
            raise Refused(f"{stack.name}: {plan_file} is missing or not the plan reviewed: {rerun}")
