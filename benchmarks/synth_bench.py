"""Synth benchmark: wall time and peak memory of synthesizing every environment, against baselines.

Each case runs in a fresh process (jsii starts one node process per Python process), and its peak memory
is the largest sum of RSS over the process tree (Python + the jsii node child), sampled from /proc.

    one-app (lazy)    the product: one App, all environments, bindings imported lazily (`wh synth --all`)
    one-app (eager)   baseline: the same App after importing the binding packages whole
    app per env       baseline: `cdktf synth`-style, a fresh process and App per environment
    bindings only     floor: start jsii and load the aws/kubernetes/helm assemblies, nothing else
    test suite        `pytest tests/stacks -m "not integration"`: one session synth of all environments and
                      every assertion (OpenTofu validation, which needs the Go-built providers, left out)

    PYTHONPATH=. $VENV/bin/python benchmarks/synth_bench.py [--rounds 1] [--skip-tests]

Target (issue 3): all environments in < 20 s and < 2 GB peak on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._proc_tree import rss_kb

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS, TARGET_MB = 20.0, 2048.0

SYNTH_ALL = (
    "import sys; from stacks.app import synth; from infra.config import environment_names; "
    "synth(environment_names(), sys.argv[1])"
)
EAGER_FIRST = "import cdktf_cdktf_provider_aws, cdktf_cdktf_provider_kubernetes, cdktf_cdktf_provider_helm; "
SYNTH_ONE = "import sys; from stacks.app import synth; synth([sys.argv[2]], sys.argv[1])"
BINDINGS_ONLY = (
    "import infra.constructs; import cdktf_cdktf_provider_aws._jsii, cdktf_cdktf_provider_kubernetes._jsii, "
    "cdktf_cdktf_provider_helm._jsii"
)


@dataclass
class Sample:
    seconds: float
    peak_mb: float


def measure(command: list[str]) -> Sample:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, rss_kb(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"benchmark case failed ({' '.join(command)}):\n{tail}")
    return Sample(seconds, peak / 1024)


def cases(python: str, outdir: Path, include_tests: bool) -> dict[str, list[list[str]]]:
    """Case name -> the commands it runs one after another (their times add up, peaks take the max)."""
    from infra.config import environment_names

    envs = environment_names()
    found = {
        "one-app (lazy)": [[python, "-c", SYNTH_ALL, str(outdir / "lazy")]],
        "one-app (eager)": [[python, "-c", EAGER_FIRST + SYNTH_ALL, str(outdir / "eager")]],
        "app per env": [[python, "-c", SYNTH_ONE, str(outdir / f"per-env-{env}"), env] for env in envs],
        "bindings only": [[python, "-c", BINDINGS_ONLY]],
    }
    if include_tests:
        pytest = [
            python,
            "-m",
            "pytest",
            "tests/stacks",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not integration",
        ]
        found["test suite"] = [pytest]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds; cases alternate within a round")
    parser.add_argument("--skip-tests", action="store_true", help="leave out the test-suite case")
    args = parser.parse_args(argv)

    results: dict[str, list[Sample]] = {}
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        plan = cases(sys.executable, Path(tmp), not args.skip_tests)
        for round_number in range(1, args.rounds + 1):
            for name, commands in plan.items():
                samples = [measure(command) for command in commands]
                sample = Sample(sum(s.seconds for s in samples), max(s.peak_mb for s in samples))
                results.setdefault(name, []).append(sample)
                print(
                    f"round {round_number}: {name:16} {sample.seconds:6.1f} s {sample.peak_mb:7.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )

    ours = statistics.median(s.seconds for s in results["one-app (lazy)"])
    print(f"\n{'case':18} {'wall s':>8} {'peak MB':>8} {'time / one-app (lazy)':>22}")
    for name, samples in results.items():
        seconds = statistics.median(s.seconds for s in samples)
        peak = max(s.peak_mb for s in samples)
        print(f"{name:18} {seconds:8.1f} {peak:8.0f} {seconds / ours:21.2f}x")
    lazy_peak = max(s.peak_mb for s in results["one-app (lazy)"])
    verdict = "meets" if ours < TARGET_SECONDS and lazy_peak < TARGET_MB else "MISSES"
    print(
        f"\nall environments: {ours:.1f} s, {lazy_peak:.0f} MB peak: {verdict} the target "
        f"(< {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB); load average now {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
