"""The local PostgreSQL 15 and the sql/ migrations on it (stock PostgreSQL: no TimescaleDB here)."""

from __future__ import annotations

import os
import pwd
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from app import migrations
from app.local.postgres import SERVICE_USER, Postgres
from infra.process import ServiceError, pid_alive
from tests.conftest import unique_name

pytestmark = pytest.mark.integration


def test_write_then_read_back(postgres):
    table = unique_name("rows")
    with psycopg.connect(postgres.dsn) as conn:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(i, f"row {i}") for i in range(50)])
    with psycopg.connect(postgres.dsn) as conn:
        rows = conn.execute(f"SELECT id, body FROM {table} ORDER BY id").fetchall()
    assert rows == [(i, f"row {i}") for i in range(50)]


def test_server_listens_on_loopback_as_an_unprivileged_user(postgres):
    with psycopg.connect(postgres.dsn) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    uid = int(
        next(line for line in open(f"/proc/{postgres.pid}/status") if line.startswith("Uid:")).split()[1]
    )
    assert uid != 0
    if os.geteuid() == 0:
        assert uid == pwd.getpwnam(SERVICE_USER).pw_uid


def test_migrations_apply_in_order_once_and_build_the_summary_view(postgres):
    dsn = postgres.create_database(unique_name("migr"))

    first = migrations.apply(dsn)
    second = migrations.apply(dsn)

    assert [m.path.name for m in first] == [
        "001_market_data.sql",
        "002_news_and_insider.sql",
        "003_indicator_precision.sql",
        "004_trade_identity.sql",
        "005_daily_aggregates.sql",
        "006_every_topic_stored.sql",
        "007_daily_market_summary.sql",
    ]
    assert second == []
    day = datetime(2026, 11, 2, tzinfo=UTC)
    ticks = [
        (day + timedelta(minutes=i), "ACME", Decimal(price), 10)
        for i, price in enumerate(["10", "12", "9", "11"])
    ]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall() == [
            (1,),
            (2,),
            (3,),
            (4,),
            (5,),
            (6,),
            (7,),
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO market_data_ts (time, symbol, price, volume) VALUES (%s, %s, %s, %s)", ticks
            )
        summary = conn.execute(
            "SELECT open_price, high_price, low_price, close_price, total_volume, tick_count"
            " FROM daily_market_summary WHERE symbol = 'ACME'"
        ).fetchone()
        for table in ("news_sentiment_ts", "insider_trading_ts"):
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None
    assert summary == (Decimal("10"), Decimal("12"), Decimal("9"), Decimal("11"), 40, 4)


def test_a_failing_migration_is_named_and_leaves_nothing_behind(postgres, tmp_path):
    (tmp_path / "001_first.sql").write_text("CREATE TABLE first_table (id INTEGER);")
    (tmp_path / "002_broken.sql").write_text(
        "CREATE TABLE half_table (id INTEGER);\nSELECT no_such_column FROM first_table;"
    )
    dsn = postgres.create_database(unique_name("broken"))

    with pytest.raises(migrations.MigrationError, match=r"002_broken\.sql failed: .*no_such_column"):
        migrations.apply(dsn, tmp_path)

    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]
        assert conn.execute("SELECT to_regclass('half_table')").fetchone()[0] is None


def test_misnamed_or_duplicate_migration_files_are_rejected(tmp_path):
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(
        migrations.MigrationError, match=r"1_bad\.sql: migration files are named NNN_snake_case"
    ):
        migrations.discover(tmp_path)
    (tmp_path / "1_bad.sql").unlink()
    (tmp_path / "003_a.sql").write_text("SELECT 1;")
    (tmp_path / "003_b.sql").write_text("SELECT 1;")
    with pytest.raises(
        migrations.MigrationError, match=r"003_b\.sql: version 3 is already used by 003_a\.sql"
    ):
        migrations.discover(tmp_path)


def test_port_already_taken_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError, match=rf"PostgreSQL: port 127.0.0.1:{port} is already in use"):
            Postgres(port=port).start()


def test_stop_leaves_no_process_and_no_data_dir():
    server = Postgres().start()
    pid, workdir = server.pid, server.workdir
    assert pid_alive(pid) and (workdir / "data" / "PG_VERSION").is_file()

    server.stop()

    assert not pid_alive(pid)
    assert not workdir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.conninfo("postgres"), connect_timeout=2)


def test_wh_migrate_applies_pending_then_reports_none(postgres, capsys, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("WH_DATABASE_DSN", postgres.create_database(unique_name("cli")))
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0

    first, second = capsys.readouterr().out.splitlines()
    assert first == (
        "applied 7 migration(s): 001_market_data.sql, 002_news_and_insider.sql, 003_indicator_precision.sql,"
        " 004_trade_identity.sql, 005_daily_aggregates.sql, 006_every_topic_stored.sql,"
        " 007_daily_market_summary.sql"
    )
    assert second == "applied 0 migration(s): none pending"


def test_wh_migrate_without_a_database_or_with_a_dead_one_says_so(capsys, monkeypatch):
    from app.cli import main

    monkeypatch.delenv("WH_DATABASE_DSN", raising=False)
    assert main(["migrate"]) == 2
    assert "pass --dsn or set WH_DATABASE_DSN" in capsys.readouterr().err
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert main(["migrate", "--dsn", f"host=127.0.0.1 port={port} dbname=x connect_timeout=2"]) == 1
    assert "wh migrate: connection failed" in capsys.readouterr().err


def test_a_killed_server_restarts_on_its_data_with_every_acknowledged_commit():
    with Postgres(settings={"synchronous_commit": "on"}) as server:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
            for i in range(100):  # one acknowledged commit each
                conn.execute("INSERT INTO kept VALUES (%s)", (i,))
        killed, port = server.pid, server.port
        server.kill()
        assert not pid_alive(killed)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.dsn, connect_timeout=2)
        server.restart()
        assert server.port == port and server.pid != killed
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (100,)
        pid = server.pid
    assert not pid_alive(pid)
