"""Destroy an environment of an ephemeral tier (never production or staging) in reverse dependency order.

On a terminal it first asks for the environment's name (`--yes` skips that); without a terminal it needs
`--yes`. Workloads, operators, cluster, data, network, state; what blocks a later re-create (load-balancer
ENIs, EKS log groups, KMS aliases) is cleaned and buckets are emptied once the rest of their stack is gone
(see infra.workflows.teardown).
"""

from __future__ import annotations

import argparse
import sys

from .stackset import Refused, add_common_arguments
from .teardown import run_teardown


def confirm(env: str, *, yes: bool) -> None:
    """Raise Refused unless `--yes` was given or the user types the environment's name on a terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Refused(f"no terminal to confirm destroying {env!r} on: pass --yes to destroy it unattended")
    try:
        answer = input(f"This will destroy every stack of {env!r}. To go on, type the environment's name: ")
    except EOFError:
        answer = ""
    if answer.strip() != env:
        raise Refused(f"{answer.strip()!r} is not {env!r}: nothing destroyed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)"
    )


def run(args: argparse.Namespace) -> int:
    return run_teardown("destroy", args, confirm=lambda: confirm(args.env, yes=args.yes))
