"""Bootstrap step `cdktf-cli`: the npm-pinned CLI cached outside the work tree, a corrupt entry rebuilt."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from infra.bootstrap import node
from infra.bootstrap.common import REPO, BootstrapError, cache_root

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed() -> Path:
    return node.ensure()


def test_the_pinned_cli_runs_from_the_cache_and_nothing_lands_in_the_work_tree(installed):
    assert installed.is_relative_to(cache_root()), installed
    assert not (REPO / "node_modules").exists()
    version = subprocess.run([installed, "--version"], capture_output=True, text=True, timeout=120)
    assert version.stdout.splitlines()[0] == node.pinned_version() == "0.21.0"


def test_second_run_is_fast_and_installs_nothing(installed, capsys):
    started = time.monotonic()
    assert node.ensure() == installed
    assert time.monotonic() - started < 5
    assert "cached at" in capsys.readouterr().err


def test_a_corrupt_install_is_named_and_rebuilt(installed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAARDHAVEN_CACHE", str(tmp_path))
    copy = node.install_dir()
    shutil.copytree(installed.parents[2], copy, symlinks=True)
    (copy / "node_modules" / "cdktf-cli" / "package.json").unlink()  # as after a half-deleted cache

    rebuilt = node.ensure()
    err = capsys.readouterr().err
    assert "corrupt (the CLI or its native module no longer loads)" in err
    assert "npm ci" in err
    assert rebuilt == node.cli_path(copy)
    assert (copy / "node_modules" / "cdktf-cli" / "package.json").is_file()


def test_a_missing_install_names_the_step_that_installs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WAARDHAVEN_CACHE", str(tmp_path))
    with pytest.raises(
        BootstrapError,
        match=r"cdktf-cli 0\.21\.0 is not installed: run `python3 -m infra.bootstrap cdktf-cli`",
    ):
        node.cdktf_binary()
