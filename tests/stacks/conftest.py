"""The Go-built helm and kubeconform for the chart tests (the toolchain bootstrap builds them)."""

from __future__ import annotations

import pytest

from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete


def _built(tool: gotools.GoTool) -> str:
    if not is_complete(gotools.tool_dir(tool)):
        pytest.fail(f"{tool.name} is not built: run `python3 -m infra.bootstrap {tool.name}`")
    return str(gotools.binary_path(tool))


@pytest.fixture(scope="module")
def helm() -> str:
    return _built(gotools.HELM)


@pytest.fixture(scope="module")
def kubeconform() -> str:
    return _built(gotools.KUBECONFORM)
