"""Session fixtures: the real local services, started once per test session and stopped at the end, and one
synth of every environment (jsii startup is the slow part), shared by the stack and policy tests.

Tests share these services: create your topics, tables and consumer groups with unique names
(`unique_name`), never assume a clean broker or database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from app.local import flink as flink_runtime
from app.local.kafka import KafkaBroker
from app.local.postgres import Postgres
from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete
from infra.config import environment_names
from infra.emulator.aws import AwsEmulator
from infra.process import pid_alive


def unique_name(prefix: str) -> str:
    """A topic/table/group name no other test uses: prefix + 8 hex chars (valid in Kafka and SQL)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A real single-node Kafka 3.9.1 (KRaft) on 127.0.0.1.

    `.bootstrap_servers`, `.create_topic(name, partitions)`, `.consume(topic, count)`.
    """
    broker = KafkaBroker().start()
    pid = broker.pid
    yield broker
    broker.stop()
    assert not pid_alive(pid), f"Kafka broker pid {pid} still running after stop"


@pytest.fixture(scope="session")
def flink() -> Iterator[ModuleType]:
    """The PyFlink local runtime (app.local.flink): `flink.table_environment()`, `flink.stream_environment()`.

    Its gateway JVM (one per Python process) is stopped at the end of the session.
    """
    yield flink_runtime
    pid = flink_runtime.gateway_pid()
    flink_runtime.shutdown()
    assert pid is None or not pid_alive(pid), f"PyFlink gateway JVM pid {pid} still running after shutdown"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL 15 on 127.0.0.1; `.dsn`, and `.create_database(unique_name("db"))` for isolation."""
    server = Postgres().start()
    pid = server.pid
    yield server
    server.stop()
    assert not pid_alive(pid), f"PostgreSQL pid {pid} still running after stop"


@pytest.fixture(scope="session")
def aws_emulator() -> Iterator[AwsEmulator]:
    """One moto server for the session's lake tests: give each test a bucket of its own (`unique_bucket`)."""
    emulator = AwsEmulator().start()
    pid = emulator.pid
    yield emulator
    emulator.stop()
    assert not pid_alive(pid), f"AWS emulator pid {pid} still running after stop"


def unique_bucket(s3, prefix: str) -> str:
    """A new bucket no other test uses (S3 names take no underscores)."""
    name = unique_name(prefix).replace("_", "-")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def spark(aws_emulator):
    """One local SparkSession (app/local/spark.py) reading s3a:// from `aws_emulator`; its gateway JVM is
    stopped by its pid at the end of the session."""
    from app.local import spark as local_spark

    session = local_spark.start(aws_emulator.endpoint)
    pid = local_spark.gateway_pid()
    yield session
    local_spark.stop(session)
    assert pid is None or not pid_alive(pid), f"Spark gateway JVM pid {pid} still running after stop"


@dataclass
class Synthesized:
    outdir: Path
    manifest: dict
    _stacks: dict = field(default_factory=dict)

    def stack(self, name: str) -> dict:
        if name not in self._stacks:
            path = self.outdir / self.manifest["stacks"][name]["synthesizedStackPath"]
            self._stacks[name] = json.loads(path.read_text(encoding="utf-8"))
        return self._stacks[name]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from stacks.app import synth

    outdir = tmp_path_factory.mktemp("synth") / "nested" / "cdktf.out"  # synth creates missing parents
    return Synthesized(outdir, synth(environment_names(), outdir))


def _built(tool: gotools.GoTool) -> str:
    """The Go-built tool's binary (helm, kubeconform: the toolchain bootstrap builds them)."""
    if not is_complete(gotools.tool_dir(tool)):
        pytest.fail(f"{tool.name} is not built: run `python3 -m infra.bootstrap {tool.name}`")
    return str(gotools.binary_path(tool))


@pytest.fixture(scope="module")
def helm() -> str:
    return _built(gotools.HELM)


@pytest.fixture(scope="module")
def kubeconform() -> str:
    return _built(gotools.KUBECONFORM)
