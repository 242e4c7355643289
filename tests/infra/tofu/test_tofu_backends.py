"""OpenTofu as the bootstrap builds it (only infra.bootstrap.tofu_backends.KEPT registered): every backend
the synthesized stacks configure is built in, and one left out fails init with a message naming the build."""

from __future__ import annotations

import json

import pytest

from infra.bootstrap import tofu_backends
from infra.tofu.runner import Tofu, TofuError

pytestmark = pytest.mark.integration


def test_every_backend_the_stacks_configure_is_built_in(synthesized):
    configured = {
        backend
        for stack in synthesized.manifest["stacks"]
        for backend in synthesized.stack(stack).get("terraform", {}).get("backend", {})
    }
    assert configured, "the synthesized stacks configure no backend"
    assert configured <= set(tofu_backends.KEPT), (
        f"add to tofu_backends.KEPT: {configured - set(tofu_backends.KEPT)}"
    )


def test_a_backend_left_out_of_the_build_fails_init_naming_what_is_built(tofu_toolchain, tmp_path):
    config = {"terraform": {"backend": {"gcs": {"bucket": "b", "prefix": "p"}}}}
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    with pytest.raises(TofuError) as failed:
        Tofu(tmp_path, "gcs-backend", timeout=120).init()
    assert 'The "gcs" backend is not built into this OpenTofu' in failed.value.output
    assert "infra/bootstrap/tofu_backends.py" in failed.value.output
