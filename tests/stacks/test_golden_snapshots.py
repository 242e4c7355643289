"""Golden snapshots: each stack's synthesized JSON under tests/golden/<env>/<stack>.json.

A change to the infrastructure shows up in a pull request as a diff of these files. After an intended
change, refresh them with:

    UPDATE_GOLDEN=1 make test PYTEST_ARGS=tests/stacks/test_golden_snapshots.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from stacks.app import stack_plan
from tests.stacks.synth_helpers import ENVS

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HOW_TO_UPDATE = (
    "if the change is intended: UPDATE_GOLDEN=1 make test PYTEST_ARGS=tests/stacks/test_golden_snapshots.py"
)


def canonical(stack_json: dict) -> str:
    return json.dumps(stack_json, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("env", ENVS)
def test_synthesized_stacks_match_their_golden_snapshot(synthesized, env):
    changed = []
    for info in stack_plan(env):
        golden = GOLDEN_DIR / env / f"{info.name}.json"
        actual = canonical(synthesized.stack(info.name))
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(actual)
            continue
        expected = golden.read_text() if golden.is_file() else ""
        if actual != expected:
            diff = difflib.unified_diff(
                expected.splitlines(), actual.splitlines(), str(golden), "synthesized", lineterm="", n=2
            )
            changed.append("\n".join(list(diff)[:60]))
    assert not changed, f"{len(changed)} stack(s) differ from tests/golden ({HOW_TO_UPDATE}):\n" + "\n".join(
        changed
    )


def test_no_snapshot_is_left_for_a_stack_that_no_longer_exists():
    expected = {GOLDEN_DIR / env / f"{info.name}.json" for env in ENVS for info in stack_plan(env)}
    stale = sorted(set(GOLDEN_DIR.glob("*/*.json")) - expected)
    if UPDATE:
        for path in stale:
            path.unlink()
        stale = []
    assert not stale, f"snapshots of removed stacks: {[str(p) for p in stale]} ({HOW_TO_UPDATE})"
