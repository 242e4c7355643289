"""Recreate a load-test environment: ordered teardown, then a fresh deploy (refuses prod and staging).

`wh recreate loadtest` is the load-test cycle; any environment but prod and staging is accepted, so the
same cycle runs against the emulator as `wh recreate local`.
"""

from __future__ import annotations

import argparse

from .deploy import deploy
from .stackset import add_common_arguments
from .teardown import run_teardown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_teardown("recreate", args, then=deploy)
