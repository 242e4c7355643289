"""Print the ARN of the role GitHub Actions assumes in an environment: `plan` (plan review, drift) or
`deploy` (apply). The workflows ask this instead of keeping ARNs of their own: the account comes from
the environment's config file, the name from infra.identities; the state stack makes the role
(infra/constructs/ci_access.py).
"""

from __future__ import annotations

import argparse
import sys

from app.yamlconfig import ConfigError
from infra.config import load_environment
from infra.config.arguments import add_env
from infra.identities import CI_PURPOSES, ci_role_arn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_env(parser)
    parser.add_argument("purpose", choices=CI_PURPOSES, help="plan: read-only; deploy: apply")


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_environment(args.env)
    except ConfigError as exc:
        print(f"wh ci-role: {exc}", file=sys.stderr)
        return 1
    if not cfg.features.ci_access:
        print(f"wh ci-role: {cfg.name} has no CI roles (features.ci_access is false)", file=sys.stderr)
        return 1
    print(ci_role_arn(cfg.account_id, cfg.name, args.purpose))
    return 0
