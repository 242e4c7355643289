"""CRD YAML as a project publishes it -> one clean CRD per file, and kubeconform's JSON schemas.

    python infra/bootstrap/crd_schema.py RAW_DIR OUT_DIR

writes OUT_DIR/crds/<crd name>.yaml and OUT_DIR/schemas/<group>/<kind>_<version>.json (kubeconform's
`{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`, the openapi2jsonschema layout). The `crds`
bootstrap step runs it in the project venv, as it needs PyYAML; it imports nothing else of the project.

Cleaning: a chart's CRD sources may carry Helm placeholders in label values (cert-manager's
`'{{ template "cert-manager.name" . }}'`) and a `helm.sh/resource-policy: keep` annotation; both go, so the
CRDs are valid as they are and are removed with the release that installs them. The schemas are not touched.

The JSON schema of each served version is its `openAPIV3Schema`, made to answer what the API server answers
for a strict (`fieldValidation=Strict`) request, as far as JSON schema can say it:
- an object with `properties` admits no other field (`additionalProperties: false`), unless it is marked
  `x-kubernetes-preserve-unknown-fields` or already says what else it admits;
- `nullable: true` admits null; `x-kubernetes-int-or-string` admits an integer or a string;
- an `x-kubernetes-embedded-resource` object admits apiVersion, kind and metadata, and so does the root.
CEL rules (`x-kubernetes-validations`) cannot be expressed; only the API server checks them.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = "{{"
KEEP_POLICY = "helm.sh/resource-policy"
# The keywords whose values are schemas (a map of them, a list of them, or one).
SCHEMA_MAPS = ("properties", "patternProperties")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMAS = ("additionalProperties", "items", "not")
RESOURCE_FIELDS = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML as Kubernetes reads it: a plain `=` is the string "=" (PyYAML reads it as the `value` tag)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def crd_documents(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader):  # noqa: S506
        if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
            yield document


def clean(crd: dict[str, Any]) -> dict[str, Any]:
    """The CRD without Helm placeholders in its labels and annotations, keep-policies or status."""
    crd = copy.deepcopy(crd)
    metadata = crd.setdefault("metadata", {})
    for key in ("labels", "annotations"):
        values = {
            k: v
            for k, v in (metadata.get(key) or {}).items()
            if k != KEEP_POLICY and PLACEHOLDER not in str(v)
        }
        if values:
            metadata[key] = values
        else:
            metadata.pop(key, None)
    metadata.pop("creationTimestamp", None)
    crd.pop("status", None)
    return crd


def _admit_null(schema: dict[str, Any]) -> None:
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    elif "anyOf" in schema:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema (see the module docstring) from one OpenAPI v3 schema of a CRD, recursively."""
    out = dict(schema)
    for key in SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: strict(sub) for name, sub in out[key].items()}
    for key in SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [strict(sub) for sub in out[key]]
    for key in SCHEMAS:
        if isinstance(out.get(key), dict):
            out[key] = strict(out[key])
    if out.get("x-kubernetes-int-or-string") and not ({"anyOf", "oneOf"} & set(out)):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False):
        _admit_null(out)
    if out.get("x-kubernetes-embedded-resource"):
        out["properties"] = {**RESOURCE_FIELDS, **out.get("properties", {})}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def resource_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """The schema of a whole resource of one CRD version: its root admits apiVersion, kind and metadata."""
    root = dict(openapi)
    root["properties"] = {**RESOURCE_FIELDS, **root.get("properties", {})}
    return strict(root)


def schema_files(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"<group>/<kind>_<version>.json": schema} for every served version that has a schema."""
    spec = crd["spec"]
    kind = spec["names"]["kind"].lower()
    files = {}
    for version in spec.get("versions", []):
        openapi = (version.get("schema") or {}).get("openAPIV3Schema")
        if version.get("served", True) and openapi:
            files[f"{spec['group']}/{kind}_{version['name']}.json"] = resource_schema(openapi)
    return files


def convert(raw: Path, out: Path) -> int:
    """Every CRD in raw/*.y*ml -> out/crds and out/schemas; returns how many CRDs were written."""
    crds_dir = out / "crds"
    crds_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted(p for p in raw.iterdir() if p.suffix in (".yaml", ".yml")):
        for crd in crd_documents(path):
            crd = clean(crd)
            name = crd["metadata"]["name"]
            if (crds_dir / f"{name}.yaml").exists():
                raise SystemExit(f"{path}: CRD {name} appears twice in the fetched files")
            (crds_dir / f"{name}.yaml").write_text(yaml.safe_dump(crd, sort_keys=False), encoding="utf-8")
            for relative, schema in schema_files(crd).items():
                target = out / "schemas" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema, indent=1, sort_keys=True), encoding="utf-8")
            written += 1
    if written == 0:
        raise SystemExit(f"{raw}: no CustomResourceDefinition in the fetched files")
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    count = convert(Path(argv[0]), Path(argv[1]))
    print(f"{count} CRDs converted into {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
