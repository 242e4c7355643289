"""OpenTofu built with only the state backends the stacks use.

OpenTofu registers every state backend in one file (internal/backend/init/init.go), which imports each of
them with its cloud SDK: azurerm, consul, cos, gcs, kubernetes, oss and pg bring in 374 of its 1,783
packages. Building with that file replaced (`go build -overlay`, the module source untouched) by a version
registering only KEPT leaves those SDKs out; a configuration naming a backend left out gets OpenTofu's own
"removed backend" error, which says which backends this build has. Every backend kept is OpenTofu's own code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# local and s3: the stacks' (infra/constructs/environment_stack.py); http and inmem: small, no SDK;
# remote and cloud: the command package imports them whatever the table says.
KEPT = ("cloud", "http", "inmem", "local", "remote", "s3")
INIT = Path("internal/backend/init/init.go")
_IMPORT = re.compile(r'^\s*(\w+) "github\.com/opentofu/opentofu/internal/backend/remote-state/[\w-]+"$')
_ENTRY = re.compile(r'^\s*"([\w-]+)":\s+func\(enc encryption\.StateEncryption\) backend\.Backend \{.*\},$')
_REMOVED = "RemovedBackends = map[string]string{"


def backend_table(source: str, kept: tuple[str, ...] = KEPT) -> str:
    """init.go registering only `kept`; the others answer as removed backends, naming what is built."""
    if _REMOVED not in source:
        raise ValueError(
            f"{INIT} has a shape this overlay does not know: update infra/bootstrap/tofu_backends.py"
        )
    entries = {m.group(1): line for line in source.splitlines() if (m := _ENTRY.match(line))}
    dropped = sorted(set(entries) - set(kept))
    aliases = {m.group(1) for line in source.splitlines() if (m := _IMPORT.match(line))}
    used = {alias for name in kept if name in entries for alias in aliases if f"{alias}.New" in entries[name]}
    lines = []
    for line in source.splitlines():
        entry, imported = _ENTRY.match(line), _IMPORT.match(line)
        if (entry and entry.group(1) in dropped) or (imported and imported.group(1) not in used):
            continue
        lines.append(line)
        if line.strip() == _REMOVED:
            built = ", ".join(name for name in kept if name in entries)
            lines += [
                f'\t\t"{name}": `The "{name}" backend is not built into this OpenTofu (Waardhaven builds '
                f"only {built}: infra/bootstrap/tofu_backends.py).`,"
                for name in dropped
            ]
    if not dropped:
        raise ValueError(
            f"{INIT} registers no backend this overlay drops: update infra/bootstrap/tofu_backends.py"
        )
    return "\n".join(lines) + "\n"


def overlay(src: Path, workdir: Path, env: dict[str, str]) -> Path:
    """The `go build -overlay` file for OpenTofu in `src`: its backend table cut to KEPT."""
    workdir.mkdir(parents=True, exist_ok=True)
    table = workdir / INIT.name
    table.write_text(backend_table((src / INIT).read_text()))
    replaced = workdir / "overlay.json"
    replaced.write_text(json.dumps({"Replace": {str(src / INIT): str(table)}}))
    return replaced
