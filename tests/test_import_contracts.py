"""The rooms' import rules (pyproject.toml [tool.importlinter]) hold, and a violation breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import REPO

ROOMS = ("app", "infra", "stacks", "policies", "tests")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The Python sources and pyproject.toml, to plant violations in without touching the checkout."""
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(REPO / "pyproject.toml", root)
    ignore = shutil.ignore_patterns("__pycache__", "golden", "*.json", "*.java", "*.jar")
    for room in ROOMS:
        shutil.copytree(REPO / room, root / room, ignore=ignore)
    return root


def test_the_tree_keeps_every_contract():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "imported", "contract"),
    [
        ("app/flink/probe.py", "app.local.flink", "Cluster code imports no laptop"),
        ("app/sinks/probe.py", "infra.bootstrap.jars", "Cluster code imports no laptop"),
        ("app/connectors/probe.py", "tests.conftest", "Cluster code imports no laptop"),
        ("stacks/probe.py", "infra.tofu.runner", "Rooms import only rooms below them"),
        ("infra/config/probe.py", "stacks.app", "Rooms import only rooms below them"),
        ("app/schemas/probe.py", "app.catalog", "Rooms import only rooms below them"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tree_copy, module, imported, contract):
    probe = tree_copy / module
    probe.write_text(f"import {imported}\n")
    try:
        result = _lint(tree_copy)
    finally:
        probe.unlink()
    assert result.returncode == 1, result.stdout
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(contract in line for line in broken), result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
