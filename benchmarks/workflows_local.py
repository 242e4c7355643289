"""Workflows on `local` (moto and the local Kubernetes API): wall time of `wh deploy`, `wh drift` and
`wh recreate` as a user runs them.

Each command runs as its own process (synth included) against one local environment (emulator and
Kubernetes API) this script starts and stops.
Baseline, measured in the same run: a second `wh deploy local` that changes nothing, the fixed cost of
synth + init + plan + show for every stack, so the ratios hold on a loaded machine.

    PYTHONPATH=. $VENV/bin/python benchmarks/workflows_local.py

Needs `python3 -m infra.bootstrap deploy-toolchain`; takes 15-30 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from infra.bootstrap.common import REPO
from infra.emulator.local import local_services
from infra.workflows.drift import EXIT_DRIFT

# (row, wh arguments); each must exit 0
STEPS = (
    ("wh deploy local (empty emulator)", ("deploy", "local")),
    ("wh deploy local (no change, baseline)", ("deploy", "local")),
    ("wh drift local (no drift)", ("drift", "local")),
    ("wh recreate local (destroy + deploy)", ("recreate", "local")),
)
BASELINE = 1


def wh(args: tuple[str, ...], outdir: str, services: dict[str, str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), **services}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--outdir", outdir],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        hint = " (drift found)" if result.returncode == EXIT_DRIFT else ""
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"`wh {' '.join(args)}` exited {result.returncode}{hint}:\n{tail}")
    return seconds


def main() -> int:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    with tempfile.TemporaryDirectory(prefix="wh-workflows-bench-") as outdir, local_services(True) as local:
        rows = []
        for name, args in STEPS:
            rows.append((name, wh(args, outdir, local.tofu_env())))
            print(f"{name}: {rows[-1][1]:.1f}s", file=sys.stderr, flush=True)
    baseline = rows[BASELINE][1]
    width = max(len(name) for name, _ in rows)
    print(f"{'workflow':<{width}}  {'seconds':>8}  {'x baseline':>10}")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:>8.1f}  {seconds / baseline:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
