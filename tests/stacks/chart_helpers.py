"""The platform stack's charts rendered as it installs them: the release's synthesized values (apply-time
ARNs stand in as a fixed one), `helm lint` + `helm template`, and kubeconform in strict mode against the
pinned operators' CRD schemas. The `helm` and `kubeconform` fixtures are tests/conftest.py's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from infra.bootstrap import crds
from policies.charts import STAND_IN_ARN, with_stand_ins
from tests.stacks.synth_helpers import resource

__all__ = ["RESTRICTED", "STAND_IN_ARN", "conform", "release_values", "render"]
# A container's securityContext under the restricted Pod Security Standard, read-only root filesystem too.
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def release_values(synthesized, env: str, chart: str, tmp_path: Path) -> list[str]:
    """`-f` arguments of the release's values as synthesized (apply-time ARNs stand in as a fixed one)."""
    release = resource(synthesized.stack(f"{env}-platform"), "helm_release", name=chart)
    args = []
    for index, text in enumerate(release["values"]):
        path = tmp_path / f"{chart}-{index}.yaml"
        path.write_text(with_stand_ins(text))
        args += ["-f", str(path)]
    return args


def render(helm: str, chart: str, values: list[str], namespace: str = "data-processing") -> list[dict]:
    lint = subprocess.run([helm, "lint", f"charts/{chart}", *values], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = subprocess.run(
        [helm, "template", chart, f"charts/{chart}", "-n", namespace, *values],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def conform(kubeconform: str, documents: list[dict], tmp_path: Path) -> subprocess.CompletedProcess:
    manifest = tmp_path / "custom-resources.yaml"
    manifest.write_text(yaml.safe_dump_all(documents))
    locations = [arg for location in crds.schema_locations() for arg in ("-schema-location", location)]
    return subprocess.run(
        [kubeconform, "-strict", "-summary", "-output", "text", *locations, str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
    )
