"""promtool (Debian `prometheus`, installed by `python3 -m infra.bootstrap debs`) as the tests run it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from infra.bootstrap import debs
from infra.bootstrap.common import BootstrapError


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        binary = debs.promtool_binary()
    except BootstrapError as exc:
        pytest.fail(str(exc))
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def check_rules(path: Path) -> None:
    """Fail with promtool's words when it rejects the rule file at `path`."""
    proc = promtool("check", "rules", path)
    if proc.returncode != 0:
        raise AssertionError(f"promtool rejects {path}:\n{proc.stdout}{proc.stderr}")


def check_expressions(expressions: dict[str, str], directory: Path) -> None:
    """Fail naming the first PromQL expression (name -> expr) that promtool cannot parse."""
    rules = [{"record": f"check:expression_{i}", "expr": expr} for i, expr in enumerate(expressions.values())]
    path = directory / "expressions.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    proc = promtool("check", "rules", path)
    if proc.returncode != 0:
        for name, expr in expressions.items():
            path.write_text(
                yaml.safe_dump({"groups": [{"name": "one", "rules": [{"record": "a:b", "expr": expr}]}]})
            )
            if promtool("check", "rules", path).returncode != 0:
                raise AssertionError(f"{name}: promtool cannot parse {expr!r}:\n{proc.stdout}{proc.stderr}")
        raise AssertionError(f"promtool rejects the expressions:\n{proc.stdout}{proc.stderr}")
