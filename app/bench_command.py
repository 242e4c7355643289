"""Run one of the benchmarks in benchmarks/ (each compares against a baseline measured in the same run).

`wh bench` lists them; `wh bench NAME [ARGS ...]` runs benchmarks/NAME.py with ARGS (see its --help).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def available() -> dict[str, Path]:
    return {path.stem: path for path in sorted(BENCHMARKS.glob("*.py")) if not path.name.startswith("_")}


def _summary(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").split('"""')
    return lines[1].strip().splitlines()[0] if len(lines) > 2 else ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="benchmark to run (omit to list them)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")


def run(args: argparse.Namespace) -> int:
    benches = available()
    if not args.name:
        for name, path in benches.items():
            print(f"{name:20} {_summary(path)}")
        return 0
    if args.name not in benches:
        print(f"bench: no benchmark {args.name!r}; available: {', '.join(benches)}", file=sys.stderr)
        return 2
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCHMARKS.parent), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.call([sys.executable, str(benches[args.name]), *args.args], env=env)
