"""kubeconform's JSON schemas from an operator's published Python API models, where no registry carries its
CRD YAML (infra/bootstrap/crds.py, ApiModels):

    python infra/bootstrap/model_schema.py SITE_DIR OUT_DIR GROUP/VERSION/KIND=MODULE:CLASS ...

imports each pydantic model from SITE_DIR (the unpacked wheel) and writes its JSON schema (by the fields'
wire names) to OUT_DIR/schemas/<group>/<kind>_<version>.json, closed as crd_schema.strict closes a CRD's:
an object that lists its fields admits no other. The models are generated from the same Go API types as
the operator's CRDs; what only the CRD says (CEL rules, defaults the API server fills) is not checked.
Run in the project venv (pydantic, PyYAML).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crd_schema  # noqa: E402  (a sibling script, not a package import: this runs as a file)


def resource_schema(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})
    closed = crd_schema.strict(schema)
    closed["$defs"] = {name: crd_schema.strict(sub) for name, sub in definitions.items()}
    return closed


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    site, out, kinds = Path(argv[0]), Path(argv[1]), argv[2:]
    sys.path.insert(0, str(site))
    for entry in kinds:
        resource, _, target = entry.partition("=")
        group, version, kind = resource.split("/")
        module, _, name = target.partition(":")
        model = getattr(importlib.import_module(module), name)
        path = out / "schemas" / group / f"{kind.lower()}_{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(resource_schema(model), indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(kinds)} schemas written into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
