"""The cdktf CLI from npm, pinned by the repository's package.json + package-lock.json.

`npm ci` installs it into cache_root()/cdktf-cli-<hash of the pins and Node's major version>/ (never into
the work tree), with install scripts off: the one package that has them (the pseudo-terminal cdktf runs
OpenTofu in) ships its Linux binary prebuilt, and its scripts would only try to download one. An entry is
usable when its completion marker exists and Node loads the CLI at the pinned version and that binary.
"""

from __future__ import annotations

import json
import shutil
import subprocess
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

PINS = (REPO / "package.json", REPO / "package-lock.json")
CLI_PACKAGE = "cdktf-cli"
NATIVE_PACKAGE = "@cdktf/node-pty-prebuilt-multiarch"
STEP = "python3 -m infra.bootstrap cdktf-cli"


def _node(tool: str = "node") -> str:
    path = shutil.which(tool)
    if path is None:
        raise BootstrapError(
            f"{tool} not found on PATH: install Node.js 20 with npm (`apt-get install nodejs npm`)"
        )
    return path


def pinned_version() -> str:
    return json.loads(PINS[0].read_text())["dependencies"][CLI_PACKAGE]


def install_dir() -> Path:
    node_major = run([_node(), "--version"], what="node --version", fix="check the Node.js installation")
    key = fingerprint(*(pin.read_bytes() for pin in PINS), node_major.strip().split(".")[0])
    return cache_root() / f"cdktf-cli-{key}"


def cli_path(directory: Path) -> Path:
    return directory / "node_modules" / ".bin" / "cdktf"


def _loads(directory: Path) -> bool:
    """Node resolves the CLI at the pinned version and loads the prebuilt native module."""
    probe = (
        f"const v = require('{CLI_PACKAGE}/package.json').version;"
        f"require('{NATIVE_PACKAGE}');"
        f"if (v !== '{pinned_version()}') process.exit(3);"
    )
    result = subprocess.run([_node(), "-e", probe], cwd=directory, capture_output=True, check=False)
    return result.returncode == 0 and cli_path(directory).is_file()


def ensure() -> Path:
    """The pinned cdktf CLI (first time: about a minute); returns its executable."""
    directory = install_dir()
    if is_complete(directory):
        if _loads(directory):
            say(f"cdktf-cli {pinned_version()} cached at {directory}")
            return cli_path(directory)
        discard_partial(directory, "corrupt (the CLI or its native module no longer loads)")
    else:
        discard_partial(directory, "incomplete (an earlier install stopped part way)")
    with step(f"cdktf-cli {pinned_version()} {directory.name} (npm ci, first time: about a minute)"):
        staging = directory.with_name(directory.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for pin in PINS:
            shutil.copy2(pin, staging / pin.name)
        run(
            [_node("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            what="npm ci (cdktf-cli)",
            fix=f"check that the npm registry is reachable, then run `{STEP}` again",
            cwd=staging,
        )
        if not _loads(staging):
            raise BootstrapError(
                f"cdktf-cli installed in {staging} but does not load: remove it and rerun `{STEP}`"
            )
        mark_complete(staging)
        staging.rename(directory)
    return cli_path(directory)


def cdktf_binary() -> Path:
    """The installed CLI, without installing: fails naming the step that installs it."""
    directory = install_dir()
    if not is_complete(directory):
        raise BootstrapError(f"cdktf-cli {pinned_version()} is not installed: run `{STEP}`")
    return cli_path(directory)
