"""Recreate a load-test environment: ordered teardown, then a fresh deploy (refuses prod and staging).

`wh recreate loadtest` is the load-test cycle; any environment but prod and staging is accepted, so the
same cycle runs against the emulator as `wh recreate local`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .deploy import deploy
from .stackset import (
    EXPECTED_ERRORS,
    add_common_arguments,
    aws_target,
    default_outdir,
    report_errors,
    say,
    synthesize,
)
from .teardown import RefusedEnvironment, refuse_protected, teardown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    outdir: Path = args.outdir or default_outdir()
    started = time.monotonic()
    try:
        refuse_protected(args.env)
        with aws_target(args.env, args.aws_endpoint) as target:
            stacks = synthesize(args.env, outdir)
            teardown(args.env, stacks, target)
            say(f"recreate {args.env}: torn down in {time.monotonic() - started:.1f}s, deploying again")
            deploy(stacks, target)
    except (RefusedEnvironment, *EXPECTED_ERRORS) as exc:
        return report_errors("recreate", exc)
    say(f"recreate {args.env}: done in {time.monotonic() - started:.1f}s")
    return 0
