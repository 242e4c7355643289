"""Bad input to the workflow commands: one clear line, exit 1, nothing started or changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.bootstrap.common import REPO
from infra.process import free_port
from infra.tofu.toolchain import BUILD_COMMAND, ToolchainMissing, require_providers, tofu_binary


def wh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["deploy", "drift", "destroy", "recreate", "plan"])
def test_unknown_environment_names_the_known_ones(command):
    result = wh(command, "qa")
    assert result.returncode == 1, result.stderr
    assert f"wh {command}:" in result.stderr
    known = "dev, loadtest, local, prod, staging"
    assert f"no such environment 'qa'; known environments: {known}" in result.stderr


@pytest.mark.parametrize("command", ["destroy", "recreate"])
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_teardown_refuses_prod_and_staging_whatever_the_flags(command, env, tmp_path):
    result = wh(command, env, "--outdir", str(tmp_path), "--aws-endpoint", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert f"refusing to tear down '{env}'" in result.stderr
    assert not any(tmp_path.iterdir()), "nothing may be synthesized for a refused environment"


@pytest.mark.parametrize("command", ["deploy", "drift", "plan", "recreate"])
def test_emulator_down_is_named_before_anything_runs(command, tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = wh(command, "local", "--outdir", str(tmp_path), "--aws-endpoint", endpoint)
    assert result.returncode == 1
    assert f"the AWS emulator at {endpoint} is not answering" in result.stderr
    assert not any(tmp_path.iterdir())


def test_missing_toolchain_names_the_bootstrap_command(tmp_path, monkeypatch):
    monkeypatch.setenv("WAARDHAVEN_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ToolchainMissing, match=BUILD_COMMAND):
        tofu_binary()
    with pytest.raises(ToolchainMissing, match=f"provider aws .* is not in the mirror .*{BUILD_COMMAND}"):
        require_providers({"aws"})

    empty_cache = {"WAARDHAVEN_CACHE": str(tmp_path / "c")}
    result = wh("drift", "local", "--outdir", str(tmp_path / "out"), env=empty_cache)
    assert result.returncode == 1
    assert f"run `{BUILD_COMMAND}`" in result.stderr


def test_a_relative_output_directory_gives_absolute_stack_directories(tofu_toolchain, tmp_path, monkeypatch):
    # OpenTofu runs inside each stack's directory, so a relative plan path would point nowhere.
    from infra.workflows.stackset import synthesize

    monkeypatch.chdir(tmp_path)
    stacks = synthesize("local", Path("cdktf.out"))

    assert all(stack.workdir.is_absolute() for stack in stacks)
    assert stacks[0].workdir.parent.parent == tmp_path / "cdktf.out"
