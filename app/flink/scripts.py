"""A job's SQL script under app/flink/sql, split into its DDL/view statements and its INSERTs."""

from __future__ import annotations

from pathlib import Path
from string import Template

from app.kafka_client import java_client_properties

SQL_DIR = Path(__file__).with_name("sql")

# The tables every job's script may use, defined before it.
SHARED_SCRIPTS = ("dead_letters.sql",)


def security_options() -> str:
    """The Kafka tables' `${security_options}`: the client security of app.kafka_client as connector
    options, each followed by a comma."""
    return " ".join(f"'properties.{key}' = '{value}'," for key, value in java_client_properties().items())


def statements(script: str, values: dict[str, object]) -> tuple[list[str], list[str]]:
    """(DDL/view statements, INSERT statements) of a job's SQL script under app/flink/sql, after the shared
    scripts', with ${name} values (and the client security as ${security_options})."""
    text = "\n".join(
        line
        for name in (*SHARED_SCRIPTS, script)
        for line in (SQL_DIR / name).read_text().splitlines()
        if not line.lstrip().startswith("--")
    )
    values = {"security_options": security_options(), **values}
    body = Template(text).substitute({k: str(v) for k, v in values.items()})
    parts = [part.strip() for part in body.split(";") if part.strip()]
    inserts = [p for p in parts if p.upper().startswith("INSERT")]
    return [p for p in parts if not p.upper().startswith("INSERT")], inserts
