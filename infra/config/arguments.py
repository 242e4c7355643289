"""Arguments several `wh` commands share: which environments, and the cdktf output directory."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def default_outdir() -> Path:
    return Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))


def add_outdir(parser: argparse.ArgumentParser, what: str = "cdktf output directory") -> None:
    parser.add_argument(
        "--outdir",
        type=Path,
        default=default_outdir(),
        help=f"{what} (default: $CDKTF_OUTDIR or ./cdktf.out)",
    )


def add_env_selection(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """`--env ENV` (repeatable) or `--all`; read back with selected_envs()."""
    from infra.config import environment_names

    names = environment_names()
    which = parser.add_mutually_exclusive_group(required=required)
    which.add_argument("--env", action="append", choices=names, metavar="ENV", help=", ".join(names))
    which.add_argument(
        "--all",
        action="store_true",
        help="every environment in infra/config/" + ("" if required else " (default)"),
    )


def selected_envs(args: argparse.Namespace) -> list[str]:
    from infra.config import environment_names

    return args.env or environment_names()


def add_env(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    """The environment(s) as positional arguments; an unknown name fails on load, naming the known ones."""
    from infra.config import environment_names

    names = ", ".join(environment_names())
    if many:
        parser.add_argument("envs", nargs="+", metavar="ENV", help=f"environments ({names})")
    else:
        parser.add_argument("env", metavar="ENV", help=f"environment ({names})")
