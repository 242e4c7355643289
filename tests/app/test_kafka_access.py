"""Each workload's KafkaUser may do exactly what its code does: the topics and groups its Flink SQL and
source name, what its connectors' sources and its loads say; and every catalog topic has a reader."""

from __future__ import annotations

import re

import pytest

from app.catalog import Catalog, Topic, catalog
from app.connectors.config import load_sources
from app.flink import config as flink_config
from app.flink import jobs, market_data
from app.kafka_access import (
    Workload,
    connector_user,
    flink_user,
    kafka_users,
    unknown_topics,
    unread_topics,
    workloads,
)
from app.kafka_client import CLUSTER
from app.sinks.loads import LOADS

ENV = "prod"


def acls_by_user(env: str = ENV) -> dict[str, list[dict]]:
    return {
        u["metadata"]["name"]: u["spec"]["authorization"]["acls"] for u in kafka_users(env, "data-processing")
    }


def granted(acls: list[dict], resource_type: str) -> dict[tuple[str, str], set[str]]:
    """(name, pattern type) -> operations, of one resource type."""
    return {
        (a["resource"]["name"], a["resource"]["patternType"]): set(a["operations"])
        for a in acls
        if a["resource"]["type"] == resource_type
    }


class RecordingTables:
    """Stands in for the table environment: keeps the SQL a job's build() runs."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute_sql(self, statement: str) -> None:
        self.sql.append(statement)

    def create_temporary_system_function(self, name, function) -> None:
        pass

    def create_statement_set(self):
        return self

    def add_insert_sql(self, statement: str) -> None:
        self.sql.append(statement)


def _option(table: str, key: str) -> str | None:
    match = re.search(rf"'{re.escape(key)}' = '([^']*)'", table)
    return match[1] if match else None


def what_the_job_runs(name: str, monkeypatch) -> tuple[set[str], set[str], set[str], set[str]]:
    """(topics read, topics written, groups, transactional-id prefixes) of a job's actual build()."""
    settings = flink_config.settings(ENV)
    sources: list[dict] = []
    # The JVM half of the market-data job: its source options are what it reads with.
    monkeypatch.setattr(
        market_data, "_register_streams", lambda tables, jar, s, source: sources.append(source)
    )
    tables = RecordingTables()
    jobs.JOBS[name].build(tables, settings, "kafka:9093", "file:///udfs.jar")
    reads = {s["topic"] for s in sources}
    groups = {s["group_id"] for s in sources}
    writes, prefixes = set(), set()
    for table in (s for s in tables.sql if "'connector' = 'kafka'" in s):
        if (prefix := _option(table, "sink.transactional-id-prefix")) is not None:
            writes.add(_option(table, "topic"))
            prefixes.add(prefix)
        else:
            reads.add(_option(table, "topic"))
            groups.add(_option(table, "properties.group.id"))
    return reads, writes, groups, prefixes


@pytest.mark.parametrize("job", sorted(jobs.JOBS))
def test_a_flink_jobs_user_covers_exactly_the_topics_group_and_transactions_its_sql_uses(job, monkeypatch):
    reads, writes, groups, prefixes = what_the_job_runs(job, monkeypatch)
    assert reads and writes and groups and prefixes
    acls = acls_by_user()[flink_user(job)]
    topics = granted(acls, "topic")
    assert {name for name, _ in topics} == reads | writes
    for name in reads:
        assert topics[(name, "literal")] == {"Describe", "Read"}
    for name in writes:
        assert topics[(name, "literal")] == {"Describe", "Write"}
    assert granted(acls, "group") == {(group, "literal"): {"Read"} for group in groups}
    transactions = granted(acls, "transactionalId")
    assert transactions and all(
        pattern == "prefix" and ops == {"Describe", "Write"} for (_, pattern), ops in transactions.items()
    )
    # Every sink's transactional ids fall under a granted prefix; no prefix is granted beyond them.
    assert all(any(p.startswith(name) for name, _ in transactions) for p in prefixes)
    assert all(any(p.startswith(name) for p in prefixes) for name, _ in transactions)


def test_each_connector_group_writes_only_its_topic_and_its_pipelines_dead_letters():
    users = acls_by_user()
    for topic in {source.topic for source, _ in load_sources().values()}:
        dead_letter = catalog().dead_letter(catalog()[topic].pipeline).name
        assert granted(users[connector_user(topic)], "topic") == {
            (topic, "literal"): {"Describe", "Write", "DescribeConfigs"},  # max.message.bytes, read at start
            (dead_letter, "literal"): {"Describe", "Write"},
        }
        assert granted(users[connector_user(topic)], "group") == {}


def test_each_load_reads_its_topic_in_its_group_and_writes_its_dead_letters():
    users = acls_by_user()
    for load in LOADS.values():
        dead_letter = catalog().dead_letter(catalog()[load.topic].pipeline).name
        assert granted(users[load.group], "topic") == {
            (load.topic, "literal"): {"Describe", "Read"},
            (dead_letter, "literal"): {"Describe", "Write"},
        }
        assert granted(users[load.group], "group") == {(load.group, "literal"): {"Read"}}
        assert granted(users[load.group], "transactionalId") == {}


def test_every_user_authenticates_with_its_certificate_on_the_cluster():
    users = kafka_users(ENV, "data-processing")
    assert len({u["metadata"]["name"] for u in users}) == len(users) == len(workloads(ENV))
    for user in users:
        assert user["kind"] == "KafkaUser" and user["metadata"]["labels"] == {"strimzi.io/cluster": CLUSTER}
        assert user["spec"]["authentication"] == {"type": "tls"}
        assert user["spec"]["authorization"]["type"] == "simple"
        assert all(rule["host"] == "*" for rule in user["spec"]["authorization"]["acls"])


def test_every_catalog_topic_has_a_reader_and_every_granted_topic_is_in_the_catalog():
    found = workloads(ENV)
    assert unread_topics(found) == []
    assert unknown_topics(found) == []
    triage = next(w for w in found if w.name == "triage")
    assert set(triage.reads) == {t.name for t in catalog() if t.kind == "dead-letter"}
    assert not triage.writes


def test_a_topic_nobody_reads_is_named():
    extra = Topic.model_validate(
        {
            "name": "market-data-orphans",
            "pipeline": "market-data",
            "kind": "processed",
            "schema": "processed_tick",
            "partitions": 1,
            "replicas": 3,
            "min_insync_replicas": 2,
            "retention": "1d",
            "compression": "lz4",
            "cleanup": "delete",
        }
    )
    with_orphan = Catalog([*catalog(), extra], catalog().defaults)
    assert unread_topics(workloads(ENV), with_orphan) == ["market-data-orphans"]
    writer = Workload("writer", writes=("market-data-orphans",))
    assert unknown_topics([writer]) == ["market-data-orphans"]


def test_acl_rules_list_read_write_and_configs_per_topic_once():
    workload = Workload("w", reads=("a",), writes=("a", "b"), inspects=("b",), group_prefixes=("triage-",))
    assert workload.acls() == [
        {
            "resource": {"type": "topic", "name": "a", "patternType": "literal"},
            "operations": ["Describe", "Read", "Write"],
            "host": "*",
        },
        {
            "resource": {"type": "topic", "name": "b", "patternType": "literal"},
            "operations": ["Describe", "Write", "DescribeConfigs"],
            "host": "*",
        },
        {
            "resource": {"type": "group", "name": "triage-", "patternType": "prefix"},
            "operations": ["Read"],
            "host": "*",
        },
    ]
