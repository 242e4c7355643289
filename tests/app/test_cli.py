"""The `wh` CLI: every command builds, documents itself, and rejects what it does not know."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.cli import COMMANDS, build_parser, main

REQUIRED = {"synth", "plan", "deploy", "drift", "destroy", "recreate", "pipeline", "bench", "policy"}


def test_the_commands_the_workflows_need_exist():
    assert REQUIRED <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_a_description(name, capsys):
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])

    out = capsys.readouterr().out
    assert done.value.code == 0
    assert out.startswith(f"usage: wh {name}")
    assert len(out.splitlines()) > 3


def test_unknown_command_fails_with_usage(capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["frobnicate"])

    assert done.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_bench_lists_benchmarks_and_refuses_an_unknown_one():
    listed = subprocess.run([sys.executable, "-m", "app.cli", "bench"], capture_output=True, text=True)
    unknown = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "nope"], capture_output=True, text=True
    )

    assert listed.returncode == 0
    assert "synth_bench" in listed.stdout
    assert unknown.returncode == 2
    assert "no benchmark 'nope'; available:" in unknown.stderr
