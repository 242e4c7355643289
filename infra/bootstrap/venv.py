"""The Python virtualenv, keyed by the pinned dependencies and the interpreter version."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from .common import (
    REPO,
    BootstrapError,
    cache_root,
    discard_partial,
    fingerprint,
    is_complete,
    mark_complete,
    run,
    say,
    step,
)

LOCK = REPO / "requirements.lock"
# Imported after install to prove the venv is usable, not just present.
SMOKE_IMPORTS = "import cdktf, confluent_kafka, psycopg, pyflink, pyspark, yaml, boto3, prometheus_client"


def direct_dependencies() -> list[str]:
    """The base dependencies and every extra (the project venv runs all sides and the tests)."""
    with (REPO / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    extras = [pin for group in project["optional-dependencies"].values() for pin in group]
    return list(dict.fromkeys([*project["dependencies"], *extras]))


def venv_path() -> Path:
    key = fingerprint(
        "\n".join(direct_dependencies()),
        LOCK.read_text(),
        f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    return cache_root() / f"venv-{key}"


def _usable(venv: Path, smoke: str) -> bool:
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    probe = subprocess.run([python, "-c", smoke], capture_output=True, check=False)
    return probe.returncode == 0


def _ensure(venv: Path, requirements: list[str], smoke: str, title: str) -> Path:
    """Build `venv` with `requirements` unless a complete, importable one is cached there."""
    if is_complete(venv):
        if _usable(venv, smoke):
            say(f"{title} cached at {venv}")
            return venv
        discard_partial(venv, "corrupt (its packages no longer import)")
    else:
        discard_partial(venv, "incomplete (an earlier install stopped part way)")
    if sys.version_info[:2] != (3, 11):
        raise BootstrapError(
            f"python {sys.version.split()[0]} found: install Python 3.11 and run it as python3"
        )
    with step(f"{title} {venv.name}"):
        run([sys.executable, "-m", "venv", str(venv)], what="creating the venv", fix="install python3-venv")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
        run(
            [*pip, *requirements],
            what=f"pip install ({title})",
            fix="check that PyPI is reachable, then run the command again",
        )
        if not _usable(venv, smoke):
            raise BootstrapError(f"venv {venv} installed but does not import ({smoke}); remove it and rerun")
        mark_complete(venv)
    return venv


def ensure() -> Path:
    """The project venv (first time: about 2 minutes)."""
    return _ensure(venv_path(), ["-c", str(LOCK), *direct_dependencies()], SMOKE_IMPORTS, "python venv")


# checkov pins its own dependency tree, which clashes with PyFlink's: it gets a venv of its own.
CHECKOV = "checkov==3.3.30"


def checkov_path() -> Path:
    return cache_root() / f"tool-{CHECKOV.replace('==', '-')}"


def ensure_checkov() -> Path:
    return _ensure(checkov_path(), [CHECKOV], "import checkov", "checkov venv")


def remove_stale(keep: Path) -> None:
    """Old venvs from earlier pins are 1-2 GB each: drop all but the current one."""
    for old in cache_root().glob("venv-*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
