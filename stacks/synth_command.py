"""Synthesize the Terraform JSON of every stack of the chosen environments into one cdktf output directory.

The output is a standard cdktf.out: manifest.json lists each stack `<env>-<layer>` with its
synthesizedStackPath and dependencies. See `stacks` for the stack set and its contract.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from infra.config import environment_names

    names = environment_names()
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", action="append", choices=names, metavar="ENV", help=", ".join(names))
    which.add_argument("--all", action="store_true", help="every environment in infra/config/")
    parser.add_argument(
        "--outdir",
        type=Path,
        default=Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out")),
        help="output directory (default: $CDKTF_OUTDIR or ./cdktf.out)",
    )
    parser.add_argument("--list", action="store_true", help="print the stacks in dependency order only")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from infra.config import ConfigError, environment_names
    from stacks.app import SynthError, stack_plan, synth

    envs = environment_names() if args.all else args.env
    if args.list:
        for env in envs:
            for info in stack_plan(env):
                kubernetes = "  [needs Kubernetes API]" if info.needs_kubernetes else ""
                print(f"{info.name:24} <- {', '.join(info.dependencies) or '-'}{kubernetes}")
        return 0
    started = time.monotonic()
    try:
        manifest = synth(envs, args.outdir)
    except (ConfigError, SynthError) as exc:
        print(f"synth: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(
            f"synthesized {len(manifest['stacks'])} stacks of {', '.join(envs)} into {args.outdir}/ "
            f"in {time.monotonic() - started:.1f}s"
        )
    return 0
