"""The GitHub workflows: actionlint passes on them (and fails on a broken one), third-party actions are
pinned by commit SHA, and deploy and drift of one environment share one concurrency group."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete
from tests import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def actionlint() -> str:
    """A missing build FAILS, naming the bootstrap command that builds it."""
    if not is_complete(gotools.tool_dir(gotools.ACTIONLINT)):
        pytest.fail("actionlint is not built: run `python3 -m infra.bootstrap actionlint`")
    return str(gotools.binary_path(gotools.ACTIONLINT))


def _lint(actionlint: str, *files: Path) -> subprocess.CompletedProcess:
    # -shellcheck= / -pyflakes=: those linters are not part of the toolchain; actionlint's own checks run.
    command = [actionlint, "-no-color", "-shellcheck=", "-pyflakes=", *map(str, files)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_every_workflow_passes_actionlint(actionlint):
    assert WORKFLOWS
    result = _lint(actionlint, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_a_broken_workflow(actionlint, tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.no_such_context.value }\n"
    )
    result = _lint(actionlint, broken)
    assert result.returncode == 1
    assert "broken.yml" in result.stdout


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit(path):
    workflow = yaml.safe_load(path.read_text())
    used = [step["uses"] for step in _steps(workflow) if "uses" in step]
    assert used, f"{path.name} uses no action"
    unpinned = [ref for ref in used if not ref.startswith("./") and not PINNED.match(ref)]
    assert not unpinned, f"{path.name}: pin by commit SHA: {unpinned}"


def _concurrency_group(path: Path) -> str:
    workflow = yaml.safe_load(path.read_text())
    (job,) = workflow["jobs"].values()
    return (job.get("concurrency") or workflow.get("concurrency"))["group"]


def test_deploy_and_drift_of_an_environment_share_a_concurrency_group():
    deploy = _concurrency_group(REPO / ".github" / "workflows" / "deploy.yml")
    drift = _concurrency_group(REPO / ".github" / "workflows" / "drift.yml")
    assert deploy == "deploy-${{ inputs.environment || 'dev' }}"
    assert drift == "deploy-${{ matrix.environment }}"
