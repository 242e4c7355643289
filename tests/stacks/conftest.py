"""One synth of every environment per test session: jsii startup is the slow part."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.config import environment_names


@dataclass
class Synthesized:
    outdir: Path
    manifest: dict
    _stacks: dict = field(default_factory=dict)

    def stack(self, name: str) -> dict:
        if name not in self._stacks:
            path = self.outdir / self.manifest["stacks"][name]["synthesizedStackPath"]
            self._stacks[name] = json.loads(path.read_text(encoding="utf-8"))
        return self._stacks[name]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from stacks.app import synth

    outdir = tmp_path_factory.mktemp("synth") / "nested" / "cdktf.out"  # synth creates missing parents
    return Synthesized(outdir, synth(environment_names(), outdir))
