"""Destroy an ephemeral environment (never prod or staging) in reverse dependency order.

Workloads, operators, cluster, data, network, state; versioned buckets are emptied first and what blocks a
later re-create (load-balancer ENIs, EKS log groups, KMS aliases) is cleaned (see infra.workflows.teardown).
"""

from __future__ import annotations

import argparse

from .stackset import add_common_arguments
from .teardown import run_teardown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_teardown("destroy", args)
