"""What the bootstrap installed (java, the PostgreSQL binaries, jars), looked up by the local services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from infra.bootstrap.common import BootstrapError
from infra.process import ServiceError


def toolchain(lookup: Callable[[], Path]) -> Path:
    """Run a bootstrap lookup (java, pg bindir, jars) turning its error into a ServiceError."""
    try:
        return lookup()
    except BootstrapError as exc:
        raise ServiceError(str(exc)) from None
