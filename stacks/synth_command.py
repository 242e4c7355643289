"""Synthesize the Terraform JSON of every stack of the chosen environments into one cdktf output directory.

The output is a standard cdktf.out: manifest.json lists each stack `<env>-<layer>` with its
synthesizedStackPath and dependencies. See `stacks` for the stack set and its contract.
"""

from __future__ import annotations

import argparse
import sys
import time

from infra.config.arguments import add_env_selection, add_outdir, selected_envs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_env_selection(parser, required=True)
    add_outdir(parser, "output directory")
    parser.add_argument("--list", action="store_true", help="print the stacks in dependency order only")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from infra.config import ConfigError
    from stacks.app import SynthError, stack_plan, synth

    envs = selected_envs(args)
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
