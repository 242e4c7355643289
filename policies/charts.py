"""The platform stacks' Helm releases rendered as they would install: each release's chart (the asset the
stack copied into its output) with its values, by the Go-built `helm template`, each object in the
release's namespace (where Helm creates the ones whose template names none). Values known only at apply
time (`${...}`, the IRSA roles' ARNs) stand in as one fixed ARN."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete

STAND_IN_ARN = "arn:aws:iam::123456789012:role/stand-in"
_APPLY_TIME = re.compile(r"\$\{[^}]*\}")


class HelmMissing(RuntimeError):
    pass


def helm_binary() -> str:
    if not is_complete(gotools.tool_dir(gotools.HELM)):
        raise HelmMissing("helm is not built: run `python3 -m infra.bootstrap helm`")
    return str(gotools.binary_path(gotools.HELM))


def with_stand_ins(values: str) -> str:
    return _APPLY_TIME.sub(STAND_IN_ARN, values)


def render_releases(stack_dir: Path, out_dir: Path, values_dir: Path) -> list[Path]:
    """Render every helm_release of the synthesized stack in `stack_dir` into `out_dir`/<release>.yaml (its
    values files go to `values_dir`)."""
    helm = helm_binary()
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    rendered = []
    for release in stack.get("resource", {}).get("helm_release", {}).values():
        name, namespace = release["name"], release["namespace"]
        values = []
        for index, text in enumerate(release.get("values", [])):
            path = values_dir / f"{name}-{index}.yaml"
            path.write_text(with_stand_ins(text))
            values += ["-f", str(path)]
        chart = stack_dir / release["chart"]
        result = subprocess.run(
            [helm, "template", name, str(chart), "-n", namespace, *values],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"helm template {name} ({stack_dir.name}) failed: {result.stderr.strip()}")
        documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        for doc in documents:
            doc["metadata"].setdefault("namespace", namespace)
        manifest = out_dir / f"{name}.yaml"
        manifest.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        rendered.append(manifest)
    return rendered
