"""A synthesized stack must require the providers the mirror serves; one synthesized before is refused."""

from __future__ import annotations

import json

import pytest

from infra.bootstrap.gotools import PROVIDERS
from infra.tofu.toolchain import ToolchainMissing, providers_required_by


def _stack(tmp_path, aws_version: str):
    config = tmp_path / "cdk.tf.json"
    required = {
        "aws": {"source": "aws", "version": aws_version},
        "helm": {"source": "helm", "version": PROVIDERS["helm"].version},
    }
    config.write_text(json.dumps({"terraform": {"required_providers": required}}))
    return config


def test_the_types_of_a_stack_on_the_built_versions(tmp_path):
    assert providers_required_by(_stack(tmp_path, PROVIDERS["aws"].version)) == {"aws", "helm"}


def test_a_stack_on_the_bindings_version_is_refused_naming_both_versions_and_the_fix(tmp_path):
    config = _stack(tmp_path, PROVIDERS["aws"].bindings)
    before = config.read_text()
    with pytest.raises(
        ToolchainMissing, match=r"requires aws 6\.25\.0, the mirror serves 6\.47\.1: .*wh synth"
    ):
        providers_required_by(config)
    assert config.read_text() == before, "the stack is not rewritten"
