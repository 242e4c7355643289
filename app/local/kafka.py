"""A single-node Apache Kafka (KRaft, combined broker + controller) on loopback, for tests and local runs.

    with KafkaBroker() as broker:
        Producer({"bootstrap.servers": broker.bootstrap_servers})

Storage lives in a temp dir removed on stop. Topics are never auto-created: create them from the catalog.
"""

from __future__ import annotations

import base64
import time
import uuid

from app.local.toolchain import toolchain
from infra.bootstrap import debs, jars
from infra.process import (
    LocalService,
    ManagedProcess,
    ServiceError,
    free_port,
    require_free_port,
    service_workdir,
)

JAR_BUNDLE = "kafka"
HEAP = ["-Xms128m", "-Xmx384m"]
READY_TIMEOUT = 90.0

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.kafka.clients=WARN
"""


def classpath() -> str:
    """The Kafka 3.9.1 jars (broker, tools, clients) as a java -cp string."""
    return ":".join(str(jar) for jar in toolchain(lambda: jars.classpath(JAR_BUNDLE)))


def java_command(main_class: str, *args: str, heap: list[str] = HEAP) -> list[str]:
    """A java command line running `main_class` from the Kafka jars (e.g. tools.ProducerPerformance)."""
    java = toolchain(debs.java_binary)
    return [str(java), *heap, "-cp", classpath(), main_class, *args]


def cluster_id() -> str:
    """A random KRaft cluster id (base64url of 16 bytes) that does not start with "-".

    The storage tool would read such an id as an option; clearing the top bit of the first byte keeps
    the first character in A-Z/a-f (Kafka's own Uuid generator avoids the same trap).
    """
    raw = bytearray(uuid.uuid4().bytes)
    raw[0] &= 0x7F
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


class KafkaBroker(LocalService):
    """Kafka on 127.0.0.1:`port` (a free one by default); `bootstrap_servers` once started."""

    def __init__(self, port: int | None = None, *, extra_config: dict[str, str] | None = None) -> None:
        super().__init__(port)
        self.extra_config = extra_config or {}

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _config(self, controller_port: int) -> dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "auto.create.topics.enable": "false",
            "delete.topic.enable": "true",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            **self.extra_config,
        }

    def start(self) -> KafkaBroker:
        if self.process is not None:
            raise ServiceError(f"Kafka is already running on {self.bootstrap_servers}")
        self.port = require_free_port(self.port, "Kafka") if self.port else free_port()
        java_command("kafka.Kafka")  # a missing java or jar fails here, before anything is created
        self.workdir = service_workdir("wh-kafka-")
        try:
            self._format(controller_port=free_port())
            self.process = self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def _logging(self) -> list[str]:
        return [f"-Dlog4j.configuration=file:{self.workdir / 'log4j.properties'}"]

    def _format(self, controller_port: int) -> None:
        assert self.workdir is not None
        config_file = self.workdir / "server.properties"
        config_file.write_text("".join(f"{k}={v}\n" for k, v in self._config(controller_port).items()))
        (self.workdir / "log4j.properties").write_text(_LOG4J)
        with ManagedProcess(
            "Kafka storage format",
            java_command(
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(config_file),
                "--cluster-id",
                cluster_id(),
                "--ignore-formatted",
                heap=["-Xmx128m", *self._logging],
            ),
            self.workdir / "kafka.log",
        ) as fmt:
            if fmt.proc.wait(60) != 0:
                raise fmt.failure("failed")

    def _launch(self) -> ManagedProcess:
        """The broker on the formatted storage in the workdir; returns once it answers metadata requests."""
        assert self.workdir is not None
        config_file = self.workdir / "server.properties"
        process = ManagedProcess(
            f"Kafka broker on {self.bootstrap_servers}",
            java_command("kafka.Kafka", str(config_file), heap=[*HEAP, *self._logging, "-XX:+UseG1GC"]),
            self.workdir / "kafka.log",
        ).start()
        process.wait_ready(self._answers_metadata, READY_TIMEOUT, interval=0.5)
        return process

    def _answers_metadata(self) -> bool:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        try:
            return bool(admin.list_topics(timeout=1).brokers)
        except KafkaException:
            return False

    def create_topic(self, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
        """Create a topic and wait until the broker confirms it; fails if it exists."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        future = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name]
        future.result(timeout=30)

    def consume(self, topic: str, count: int, timeout: float = 30.0) -> list:
        """Read up to `count` messages of `topic` from the start with a fresh group (stops at `timeout`)."""
        from confluent_kafka import Consumer, KafkaException

        group = f"wh-read-{uuid.uuid4().hex[:8]}"
        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap_servers, "group.id": group, "auto.offset.reset": "earliest"}
        )
        consumer.subscribe([topic])
        messages = []
        deadline = time.monotonic() + timeout
        try:
            while len(messages) < count and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    raise KafkaException(msg.error())
                messages.append(msg)
        finally:
            consumer.close()
        return messages
