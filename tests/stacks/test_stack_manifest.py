"""The synth output contract: manifest, stack names, dependency order, no absolute paths."""

from __future__ import annotations

import pytest

from stacks.app import stack_plan
from tests.stacks.synth_helpers import ENVS


def test_manifest_lists_every_stack_with_the_planned_dependencies(synthesized):
    manifest = synthesized.manifest["stacks"]
    planned = {info.name: info for env in ENVS for info in stack_plan(env)}
    assert set(manifest) == set(planned)
    for name, info in planned.items():
        assert set(manifest[name]["dependencies"]) == set(info.dependencies), name
        assert (synthesized.outdir / manifest[name]["synthesizedStackPath"]).is_file()


@pytest.mark.parametrize("env", ENVS)
def test_stack_plan_is_in_dependency_order_and_flags_kubernetes_stacks(env):
    seen: set[str] = set()
    for info in stack_plan(env):
        assert set(info.dependencies) <= seen, f"{info.name} comes before {set(info.dependencies) - seen}"
        seen.add(info.name)
    assert [i.layer for i in stack_plan(env) if i.needs_kubernetes] == ["operators", "platform"]


def test_only_kubernetes_stacks_use_kubernetes_providers(synthesized):
    for env in ENVS:
        for info in stack_plan(env):
            providers = set(synthesized.stack(info.name)["provider"])
            assert bool(providers & {"kubernetes", "helm"}) is info.needs_kubernetes, info.name


def test_synthesized_json_has_no_absolute_paths(synthesized):
    for path in (synthesized.outdir / "stacks").glob("*/cdk.tf.json"):
        text = path.read_text()
        assert str(synthesized.outdir) not in text and "/work/" not in text and "/root/" not in text, path
