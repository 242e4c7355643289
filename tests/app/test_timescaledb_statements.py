"""The TimescaleDB-only statements of sql/, which no test can run here (TimescaleDB is not installable on
this machine: Debian bookworm packages no build of it and no source is reachable), held to what TimescaleDB
accepts in a migration, which app/migrations.py runs in one transaction:
- a continuous aggregate is created WITH NO DATA (TimescaleDB refuses WITH DATA in a transaction block or
  a function, such as a DO block) and gets a refresh policy in the same file;
- no migration refreshes one by hand (refresh_continuous_aggregate refuses a transaction block);
- the aggregate and the plain view stock PostgreSQL gets instead name the same columns.
The stock PostgreSQL path itself runs for real in tests/app/local/test_postgres.py.
"""

from __future__ import annotations

import re

from app.migrations import SQL_DIR, discover

CAGG = re.compile(
    r"CREATE MATERIALIZED VIEW (?P<name>\w+)\s+WITH \(timescaledb\.continuous\) AS(?P<query>.*?)\$sql\$",
    re.DOTALL,
)
PLAIN_VIEW = re.compile(r"CREATE VIEW (?P<name>\w+) AS(?P<query>.*?);", re.DOTALL)


def _texts() -> dict[str, str]:
    return {m.path.name: m.path.read_text() for m in discover(SQL_DIR)}


def _columns(query: str) -> list[str]:
    select = query.split("FROM", 1)[0]
    return sorted({*re.findall(r"\bAS (\w+)", select), *re.findall(r"^\s*SELECT .*?, (\w+),", select)})


def test_every_continuous_aggregate_is_created_with_no_data_and_gets_a_refresh_policy():
    found = {}
    for name, text in _texts().items():
        for cagg in CAGG.finditer(text):
            found[cagg["name"]] = name
            assert cagg["query"].rstrip().endswith("WITH NO DATA"), (name, cagg["name"])
            assert re.search(rf"add_continuous_aggregate_policy\('{cagg['name']}',", text), name
    assert found == {"daily_market_summary": "007_daily_market_summary.sql"}


def test_no_migration_refreshes_a_continuous_aggregate_inside_its_transaction():
    assert [name for name, text in _texts().items() if "refresh_continuous_aggregate" in text] == []


def test_the_aggregate_and_the_plain_view_name_the_same_columns():
    texts = "\n".join(_texts().values())
    caggs = {m["name"]: _columns(m["query"]) for m in CAGG.finditer(texts)}
    views = {m["name"]: _columns(m["query"]) for m in PLAIN_VIEW.finditer(texts)}
    assert set(caggs) <= set(views)
    for name, columns in caggs.items():
        assert columns == views[name]
        assert "symbol" in columns and "day" in columns
