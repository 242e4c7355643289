"""Destroy an ephemeral environment (never prod or staging) in reverse dependency order.

Workloads, operators, cluster, data, network, state; versioned buckets are emptied first and what blocks a
later re-create (load-balancer ENIs, EKS log groups, KMS aliases) is cleaned (see infra.workflows.teardown).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

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
            teardown(args.env, synthesize(args.env, outdir), target)
    except (RefusedEnvironment, *EXPECTED_ERRORS) as exc:
        return report_errors("destroy", exc)
    say(f"destroy {args.env}: done in {time.monotonic() - started:.1f}s")
    return 0
