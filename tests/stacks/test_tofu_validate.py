"""The synthesized stacks are valid for the real providers: `tofu init` + `tofu validate` on each stack of
`local` (emulator provider settings) and `prod` (the fullest AWS shape), with the Go-built toolchain."""

from __future__ import annotations

import shutil

import pytest

from infra.tofu.runner import Tofu
from infra.tofu.toolchain import ToolchainMissing, require_providers, tofu_binary
from stacks.app import stack_plan

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def toolchain() -> None:
    """A missing OpenTofu or provider build FAILS, naming the bootstrap command that builds it."""
    try:
        tofu_binary()
        require_providers({"aws", "kubernetes", "helm"})
    except ToolchainMissing as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("env", ["local", "prod"])
def test_every_stack_validates_against_the_real_providers(synthesized, toolchain, env, tmp_path):
    for info in stack_plan(env):
        workdir = tmp_path / info.name
        shutil.copytree(synthesized.outdir / "stacks" / info.name, workdir)  # keep the shared output intact
        tofu = Tofu(workdir, info.name, timeout=300)
        tofu.run("init", "-backend=false", "-input=false", "-no-color")
        result = tofu.run("validate", "-no-color")
        assert "Success! The configuration is valid" in result.output, result.output
