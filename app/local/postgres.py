"""A throwaway PostgreSQL 15 server on loopback, for tests and local runs.

    with Postgres() as pg:
        psycopg.connect(pg.dsn)

initdb runs into a temp dir removed on stop. PostgreSQL refuses to run as root, so under root the server
runs as the unprivileged system user `waardhaven-pg`, created on first use. Durability is switched off
(fsync, synchronous_commit): the data is disposable and tests run faster.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from app.local.toolchain import toolchain
from infra.bootstrap import debs
from infra.process import (
    LocalService,
    ManagedProcess,
    ServiceError,
    free_port,
    require_free_port,
    service_workdir,
)

SERVICE_USER = "waardhaven-pg"
READY_TIMEOUT = 60.0
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    "max_connections": "50",
}


def _create_service_user() -> str:
    """useradd SERVICE_USER; returns what went wrong, or "" on success."""
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    command = [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return f"{useradd} not found"
    if proc.returncode != 0 and "already exists" not in proc.stderr:
        return proc.stderr.strip()
    return ""


def service_user() -> str | None:
    """The user the server runs as: None (ourselves) unless we are root, then SERVICE_USER."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        problem = _create_service_user()
        if problem:
            raise ServiceError(
                f"PostgreSQL refuses to run as root and the system user {SERVICE_USER} cannot be created "
                f"({problem}): create it (useradd --system {SERVICE_USER}) or run as a non-root user"
            ) from None
    return SERVICE_USER


class Postgres(LocalService):
    """PostgreSQL on 127.0.0.1:`port` (a free one by default) with database `database`; `dsn` once started.

    `settings` override SERVER_SETTINGS; e.g. synchronous_commit=on for a server that is killed and must
    keep every commit it acknowledged (fsync off is safe against a killed process: the OS has the writes).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        database: str = "waardhaven",
        user: str = "waardhaven",
        settings: dict[str, str] | None = None,
    ) -> None:
        super().__init__(port)
        self.database = database
        self.user = user
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self.run_as: str | None = None
        self.bindir: Path | None = None

    def conninfo(self, database: str | None = None) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database or self.database}"

    @property
    def dsn(self) -> str:
        return self.conninfo()

    def start(self) -> Postgres:
        if self.process is not None:
            raise ServiceError(f"PostgreSQL is already running on port {self.port}")
        self.bindir = toolchain(debs.pg_bindir)
        self.port = require_free_port(self.port, "PostgreSQL") if self.port else free_port()
        self.run_as = service_user()
        self.workdir = service_workdir("wh-pg-")
        try:
            if self.run_as:
                shutil.chown(self.workdir, self.run_as)
            self._init()
            self.process = self._launch()
            self.create_database(self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def _init(self) -> None:
        assert self.workdir is not None
        data, sockets = self.workdir / "data", self.workdir / "sock"
        initdb = subprocess.run(
            [
                self.bindir / "initdb",
                "-D",
                data,
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            user=self.run_as,
            check=False,
        )
        if initdb.returncode != 0:
            tail = "\n".join(initdb.stderr.strip().splitlines()[-20:])
            raise ServiceError(f"PostgreSQL initdb into {data} failed (exit {initdb.returncode}):\n{tail}")
        sockets.mkdir()
        if self.run_as:
            shutil.chown(sockets, self.run_as)

    def _launch(self) -> ManagedProcess:
        """The server on the data directory in the workdir; returns once it accepts connections (after
        crash recovery, when it was killed)."""
        assert self.workdir is not None
        sockets = self.workdir / "sock"
        settings = {**self.settings, "port": str(self.port), "unix_socket_directories": str(sockets)}
        process = ManagedProcess(
            f"PostgreSQL on 127.0.0.1:{self.port}",
            [
                self.bindir / "postgres",
                "-D",
                self.workdir / "data",
                *(arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")),
            ],
            self.workdir / "postgres.log",
            user=self.run_as,
            stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for clients to disconnect
        ).start()
        process.wait_ready(self._accepts_connections, READY_TIMEOUT)
        return process

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.conninfo("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str) -> str:
        """Create another database on this server (e.g. one per test); returns its conninfo."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.conninfo(name)
