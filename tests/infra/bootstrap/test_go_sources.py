"""Go tools published with local-path `replace` directives (k8s.io/kubernetes's ./staging, etcd's ../api):
the copy the bootstrap builds points them at published modules, and leaves every other directive alone."""

from __future__ import annotations

import json
import subprocess

import pytest

from infra.bootstrap import gotools
from infra.bootstrap.common import BootstrapError

GO_MOD = """module example.com/tool

go 1.24

require (
\tk8s.io/api v0.0.0
\texample.com/kept v1.2.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\texample.com/sibling => ../sibling
\texample.com/present => ./present
\texample.com/kept => example.com/fork v1.2.1
)
"""


def _replaces(src) -> dict[str, str]:
    module = json.loads(subprocess.check_output(["go", "mod", "edit", "-json"], cwd=src, text=True))
    return {
        r["Old"]["Path"]: r["New"]["Path"] + (f"@{r['New']['Version']}" if "Version" in r["New"] else "")
        for r in module.get("Replace") or []
    }


@pytest.fixture
def src(tmp_path):
    (tmp_path / "go.mod").write_text(GO_MOD)
    (tmp_path / "go.work").write_text("go 1.24\n\nuse ./staging/src/k8s.io/api\n")
    (tmp_path / "present").mkdir()
    return tmp_path


def test_missing_local_paths_become_the_published_modules_at_the_given_version(src):
    tool = gotools.GoTool("t", "example.com/tool", "v1.0.0", published_replacements="v0.33.13")
    gotools._use_published_modules(tool, src)
    assert _replaces(src) == {
        "k8s.io/api": "k8s.io/api@v0.33.13",
        "example.com/sibling": "example.com/sibling@v0.33.13",
        "example.com/present": "./present",  # the module carries it: kept
        "example.com/kept": "example.com/fork@v1.2.1",
    }
    assert not (src / "go.work").exists()
    assert tool.mod_flags == ["-mod=mod"]


def test_required_drops_the_directive_for_the_version_go_mod_requires(src):
    tool = gotools.GoTool("t", "example.com/tool", "v1.0.0", published_replacements=gotools.REQUIRED)
    gotools._use_published_modules(tool, src)
    assert _replaces(src) == {
        "example.com/present": "./present",
        "example.com/kept": "example.com/fork@v1.2.1",
    }


def test_a_tool_declared_with_replacements_that_has_none_fails_naming_it(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/plain\n\ngo 1.24\n")
    tool = gotools.GoTool("t", "example.com/plain", "v1.0.0", published_replacements="v0.1.0")
    with pytest.raises(BootstrapError, match="example.com/plain@v1.0.0 has no local replace to rewrite"):
        gotools._use_published_modules(tool, tmp_path)


def test_the_kubernetes_tools_share_one_source_and_stamp_their_version():
    apiserver, controllers = gotools.KUBE_APISERVER, gotools.KUBE_CONTROLLER_MANAGER
    assert apiserver.source_name == controllers.source_name == "kubernetes"
    assert apiserver.published_replacements == "v0.33.13" and gotools.KUBERNETES_VERSION == "v1.33.13"
    assert "-X k8s.io/component-base/version.gitVersion=v1.33.13" in apiserver.ldflags
    assert gotools.TOFU.mod_flags == [] and gotools.TOFU.source_name == "tofu"  # the others build as before
