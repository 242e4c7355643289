"""`pip install .` into an empty venv gives a working `wh`: the base dependencies suffice for --help and
for listing an environment's stacks; test and lint tools are not among them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from stacks.app import LAYERS
from tests import REPO

pytestmark = pytest.mark.integration
PACKAGES = ("app", "infra", "stacks", "policies")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the project installed from a copy of its sources (no build files in the checkout)."""
    root = tmp_path_factory.mktemp("package")
    source = root / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    for package in PACKAGES:
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    subprocess.run([*pip, "-c", str(REPO / "requirements.lock"), str(source)], check=True, timeout=600)
    return venv


def _wh(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "wh"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_wh_help_lists_every_command(installed, tmp_path):
    from app.cli import COMMANDS

    result = _wh(installed, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout


def test_wh_lists_the_stacks_of_an_environment(installed, tmp_path):
    result = _wh(installed, "synth", "--env", "dev", "--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names[0] == "dev-state" and sorted(names) == sorted(f"dev-{layer}" for layer in LAYERS)


def test_runtime_dependencies_exclude_test_and_lint_tools(installed):
    with (REPO / "pyproject.toml").open("rb") as fh:
        base = tomllib.load(fh)["project"]["dependencies"]
    names = {pin.split("==")[0].split("[")[0] for pin in base}
    assert not names & {"pytest", "ruff", "moto", "import-linter"}
    probe = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import pytest"], capture_output=True, timeout=60
    )
    assert probe.returncode != 0  # nothing pulled them in
