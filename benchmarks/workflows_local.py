"""Wall time of the workflows on the `local` environment (moto), against a no-change deploy measured in the
same run as the baseline: the fixed cost of init + plan + show for every stack.

    PYTHONPATH=. $VENV/bin/python benchmarks/workflows_local.py

Prints one table: workflow, seconds, ratio to the baseline. Needs `python3 -m infra.bootstrap tofu providers`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.local.aws_emulator import AwsEmulator
from infra.workflows import drift
from infra.workflows.deploy import deploy
from infra.workflows.stackset import AwsTarget, synthesize
from infra.workflows.teardown import teardown


def timed(work: Callable[[], object]) -> float:
    started = time.monotonic()
    work()
    return time.monotonic() - started


def main() -> int:
    from infra.config import load_environment

    with tempfile.TemporaryDirectory(prefix="wh-bench-") as tmp, AwsEmulator() as aws:
        target = AwsTarget(load_environment("local"), aws.endpoint, aws.tofu_env())
        started = time.monotonic()
        stacks = synthesize("local", Path(tmp))
        rows = [("synth local", time.monotonic() - started)]
        rows.append(("deploy (empty emulator)", timed(lambda: deploy(stacks, target))))
        baseline = timed(lambda: deploy(stacks, target))
        rows.append(("deploy, no change (baseline)", baseline))
        applicable = [s for s in stacks if target.skip_reason(s) is None]
        rows.append(("drift (no drift)", timed(lambda: [drift.detect(s, target) for s in applicable])))
        rows.append(("destroy", timed(lambda: teardown("local", stacks, target))))
        rows.append(("deploy after destroy", timed(lambda: deploy(stacks, target))))
    width = max(len(name) for name, _ in rows)
    print(f"{'workflow':<{width}}  {'seconds':>8}  {'x baseline':>10}")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:>8.1f}  {seconds / baseline:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
