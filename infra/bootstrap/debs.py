"""Debian packages the local services run on: a Java 17 runtime, Maven, PostgreSQL 15, Prometheus (server and
promtool) and the Prometheus Pushgateway.

Each is checked by what the project actually calls (a binary), so a machine that has them some other
way passes; only missing ones are installed, with one `apt-get update` first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .common import BootstrapError, run, say, step

JAVA_MIN = 17
JAVA_PACKAGE = "openjdk-17-jre-headless"
PG_PACKAGE = "postgresql-15"
PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PROMETHEUS_PACKAGE = "prometheus"  # the server and promtool
PUSHGATEWAY_PACKAGE = "prometheus-pushgateway"
BOOTSTRAP_DEBS = "`python3 -m infra.bootstrap debs`"
_JAVA_FIX = f"install {JAVA_PACKAGE} ({BOOTSTRAP_DEBS}) or point JAVA_HOME at a Java {JAVA_MIN}+"


def java_binary() -> Path:
    """The java to run: $JAVA_HOME/bin/java when JAVA_HOME is set, else the one on PATH; must be 17+."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if not os.access(java, os.X_OK):
            raise BootstrapError(f"JAVA_HOME={home} has no bin/java: {_JAVA_FIX}")
    else:
        found = shutil.which("java")
        if found is None:
            raise BootstrapError(f"java not found (JAVA_HOME unset, none on PATH): {_JAVA_FIX}")
        java = Path(found)
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', probe.stderr)
    if probe.returncode != 0 or match is None:
        raise BootstrapError(f"{java} -version failed ({probe.stderr.strip()[:120]}): {_JAVA_FIX}")
    if int(match.group(1)) < JAVA_MIN:
        raise BootstrapError(f"{java} is Java {match.group(1)}, Java {JAVA_MIN}+ is needed: {_JAVA_FIX}")
    return java


def java_env() -> dict[str, str]:
    """The environment for a JVM tool (mvn) so it uses the same java as the services."""
    return {**os.environ, "JAVA_HOME": str(java_binary().resolve().parents[1])}


def mvn_binary() -> Path:
    found = shutil.which("mvn")
    if found is None:
        raise BootstrapError(f"mvn (Maven) not found on PATH: run {BOOTSTRAP_DEBS} (package maven)")
    return Path(found)


def pg_bindir() -> Path:
    if not (PG_BINDIR / "postgres").is_file() or not (PG_BINDIR / "initdb").is_file():
        raise BootstrapError(
            f"PostgreSQL 15 not found in {PG_BINDIR}: run {BOOTSTRAP_DEBS} (package {PG_PACKAGE})"
        )
    return PG_BINDIR


def _debian_binary(name: str, package: str) -> Path:
    found = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if found is None:
        raise BootstrapError(f"{name} not found on PATH: run {BOOTSTRAP_DEBS} (package {package})")
    return Path(found)


def prometheus_binary() -> Path:
    return _debian_binary("prometheus", PROMETHEUS_PACKAGE)


def promtool_binary() -> Path:
    return _debian_binary("promtool", PROMETHEUS_PACKAGE)


def pushgateway_binary() -> Path:
    return _debian_binary("prometheus-pushgateway", PUSHGATEWAY_PACKAGE)


def _missing() -> list[str]:
    checks = {
        JAVA_PACKAGE: java_binary,
        "maven": mvn_binary,
        PG_PACKAGE: pg_bindir,
        PROMETHEUS_PACKAGE: lambda: (prometheus_binary(), promtool_binary()),
        PUSHGATEWAY_PACKAGE: pushgateway_binary,
    }
    missing = []
    for package, check in checks.items():
        try:
            check()
        except BootstrapError:
            missing.append(package)
    return missing


def ensure() -> None:
    missing = _missing()
    if not missing:
        say(
            f"debian packages present: {JAVA_PACKAGE} (or JAVA_HOME), maven, {PG_PACKAGE}, "
            f"{PROMETHEUS_PACKAGE}, {PUSHGATEWAY_PACKAGE}"
        )
        return
    apt = shutil.which("apt-get")
    if apt is None:
        raise BootstrapError(
            f"missing {', '.join(missing)} and no apt-get here: install them with the system's packages"
        )
    if os.geteuid() != 0:
        raise BootstrapError(
            f"missing {', '.join(missing)}: run `sudo apt-get install -y {' '.join(missing)}`"
        )
    with step(f"apt-get install {' '.join(missing)}"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        fix = f"check that the Debian mirror is reachable, then run {BOOTSTRAP_DEBS} again"
        run([apt, "update", "-q"], what="apt-get update", fix=fix, env=env)
        install = [apt, "install", "-y", "-q", "--no-install-recommends", *missing]
        run(install, what="apt-get install", fix=fix, env=env)
    still = _missing()
    if still:
        raise BootstrapError(f"{', '.join(still)} still missing after apt-get install: see the output above")
