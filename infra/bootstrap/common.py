"""Shared helpers for bootstrap steps: cache location, progress lines, one-line failures."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPLETE_MARKER = ".complete"


class BootstrapError(Exception):
    """A step failed; the message is one line naming the problem and the fix."""


def cache_root() -> Path:
    root = Path(os.environ.get("WAARDHAVEN_CACHE", Path.home() / ".cache" / "waardhaven"))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BootstrapError(
            f"cache directory {root} is not writable ({exc.strerror}): "
            "set WAARDHAVEN_CACHE to a writable path"
        ) from exc
    return root


def fingerprint(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def say(message: str) -> None:
    print(f"[bootstrap] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.monotonic()
    say(f"{name} ...")
    yield
    say(f"{name} done in {time.monotonic() - started:.1f}s")


def is_complete(path: Path) -> bool:
    return (path / COMPLETE_MARKER).is_file()


def mark_complete(path: Path) -> None:
    (path / COMPLETE_MARKER).write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")


def discard_partial(path: Path, why: str) -> None:
    """Remove a cache entry that a killed or failed run left half-built, saying so."""
    if path.exists() or path.is_symlink():
        say(f"{path} is {why}: removing it and rebuilding")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def run(cmd: list[str], *, what: str, fix: str, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a command; on failure raise a one-line error with the tail of its output."""
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BootstrapError(f"{what}: {cmd[0]} not found: {fix}") from exc
    if proc.returncode != 0:
        tail = " | ".join(line for line in proc.stdout.strip().splitlines()[-5:])
        raise BootstrapError(f"{what} failed (exit {proc.returncode}): {tail} -- {fix}")
    return proc.stdout
