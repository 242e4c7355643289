"""Apply the versioned SQL migrations (sql/NNN_name.sql) in order, each once, recorded in schema_migrations.

Each file runs in its own transaction together with its schema_migrations row, so a failing file leaves
nothing half-applied and the next run retries it. An advisory lock keeps two runners from racing. The
connection string comes from --dsn or $WH_DATABASE_DSN (libpq conninfo or URL; keep passwords in
PGPASSWORD or ~/.pgpass, not on the command line).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
_FILE_NAME = re.compile(r"(\d{3})_([a-z0-9_]+)\.sql")
_LOCK_KEY = 0x5741_4152  # any constant shared by all runners


class MigrationError(RuntimeError):
    """A migration file is misnamed, duplicated, or failed to apply; the message names the file."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = SQL_DIR) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: migration files are named NNN_snake_case.sql (e.g. 003_lake_index.sql)"
            )
        version = int(match[1])
        if version in found:
            raise MigrationError(f"{path}: version {version} is already used by {found[version].path.name}")
        found[version] = Migration(version, match[2], path)
    return [found[v] for v in sorted(found)]


def apply(dsn: str, directory: Path = SQL_DIR) -> list[Migration]:
    """Apply the pending migrations to the database at `dsn`; returns those applied now."""
    import psycopg

    migrations = discover(directory)
    applied_now = []
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        conn.commit()
        try:
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            conn.commit()
            for migration in (m for m in migrations if m.version not in done):
                try:
                    with conn.transaction():
                        conn.execute(migration.path.read_text())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                            (migration.version, migration.name),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{migration.path.name} failed: {exc}".strip()) from exc
                applied_now.append(migration)
        finally:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
            conn.commit()
    return applied_now


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", default=os.environ.get("WH_DATABASE_DSN"), help="default: $WH_DATABASE_DSN")
    parser.add_argument("--sql-dir", type=Path, default=SQL_DIR, help=f"default: {SQL_DIR}")


def run(args: argparse.Namespace) -> int:
    import psycopg

    if not args.dsn:
        print("wh migrate: no database given: pass --dsn or set WH_DATABASE_DSN", file=sys.stderr)
        return 2
    try:
        applied = apply(args.dsn, args.sql_dir)
    except (MigrationError, psycopg.OperationalError) as exc:
        print(f"wh migrate: {str(exc).strip()}", file=sys.stderr)
        return 1
    print(f"applied {len(applied)} migration(s): {', '.join(m.path.name for m in applied) or 'none pending'}")
    return 0
