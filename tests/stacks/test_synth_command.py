"""`wh synth`: the stack listing and argument errors (the synth itself is the session fixture's)."""

from __future__ import annotations

import pytest

from app.cli import main


def test_list_prints_stacks_in_dependency_order_and_flags_kubernetes_ones(capsys):
    assert main(["synth", "--env", "local", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "local-state",
        "local-kms",
        "local-network",
        "local-data-lake",
        "local-secrets",
        "local-eks",
        "local-irsa",
        "local-operators",
        "local-platform",
    ]
    assert lines[6].split("<-")[1].split() == ["local-state,", "local-eks,", "local-kms,", "local-data-lake"]
    assert [line.split()[0] for line in lines if "[needs Kubernetes API]" in line] == [
        "local-operators",
        "local-platform",
    ]


def test_unknown_environment_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["synth", "--env", "qa"])
    assert exited.value.code == 2
    assert (
        "argument --env: invalid choice: 'qa' (choose from 'dev', 'loadtest', 'local', 'prod', 'staging')"
        in (capsys.readouterr().err)
    )


def test_without_node_synth_fails_saying_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["synth", "--env", "local", "--outdir", str(tmp_path / "out")]) == 1
    assert "`node` is not on PATH: `apt-get install nodejs`" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
