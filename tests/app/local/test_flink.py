"""The PyFlink local runtime runs a real job: Kafka source -> Python UDF -> Kafka sink on the local broker."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from tests.conftest import unique_name

pytestmark = pytest.mark.integration


def _produce_ticks(bootstrap: str, topic: str, ticks: list[dict]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for tick in ticks:
        producer.produce(topic, key=tick["symbol"].encode(), value=json.dumps(tick).encode())
    assert producer.flush(30) == 0


def test_kafka_to_kafka_job_with_python_udf(kafka_broker, flink):
    from pyflink.table import DataTypes
    from pyflink.table.udf import udf

    source, sink = unique_name("ticks"), unique_name("spreads")
    kafka_broker.create_topic(source, partitions=2)
    kafka_broker.create_topic(sink)
    ticks = [{"symbol": f"S{i % 3}", "bid": 100.0 + i, "ask": 100.5 + i} for i in range(30)]
    _produce_ticks(kafka_broker.bootstrap_servers, source, ticks)

    tables = flink.table_environment()
    kafka = f"'connector' = 'kafka', 'properties.bootstrap.servers' = '{kafka_broker.bootstrap_servers}'"
    tables.execute_sql(
        f"CREATE TABLE src (symbol STRING, bid DOUBLE, ask DOUBLE) WITH ({kafka}, 'topic' = '{source}',"
        f" 'properties.group.id' = '{unique_name('flink')}', 'scan.startup.mode' = 'earliest-offset',"
        " 'scan.bounded.mode' = 'latest-offset', 'format' = 'json')"
    )
    tables.execute_sql(
        f"CREATE TABLE dst (symbol STRING, spread DOUBLE) WITH ({kafka}, 'topic' = '{sink}',"
        " 'format' = 'json')"
    )
    tables.create_temporary_function(
        "spread", udf(lambda bid, ask: round(ask - bid, 4), result_type=DataTypes.DOUBLE())
    )

    job = tables.execute_sql("INSERT INTO dst SELECT symbol, spread(bid, ask) FROM src WHERE symbol <> 'S2'")
    job.wait(120_000)

    rows = [json.loads(m.value()) for m in kafka_broker.consume(sink, 20, timeout=60)]
    assert len(rows) == 20
    assert {row["symbol"] for row in rows} == {"S0", "S1"}
    assert all(row["spread"] == 0.5 for row in rows)


def test_connector_jars_are_on_the_pipeline_classpath(flink):
    config = flink.local_configuration(parallelism=2)
    jars = config["pipeline.jars"].split(";")
    assert any("flink-connector-kafka-3.4.0-1.20.jar" in jar for jar in jars)
    assert any("kafka-clients" in jar for jar in jars)
    assert config["parallelism.default"] == "2"


def test_shutdown_stops_the_gateway_jvm_and_a_new_one_starts_on_demand(flink):
    from infra.process import pid_alive

    first = flink.gateway().jvm.ProcessHandle.current().pid()
    assert flink.gateway_pid() == first

    flink.shutdown()

    assert not pid_alive(first) and flink.gateway_pid() is None
    second = flink.gateway().jvm.ProcessHandle.current().pid()
    assert second != first and pid_alive(second)
