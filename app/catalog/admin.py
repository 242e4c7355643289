"""Create the catalog's topics on a running broker (the local one, or any cluster you point it at)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from app.catalog import Catalog, Topic, catalog
from app.kafka_client import librdkafka_settings

log = logging.getLogger(__name__)


def ensure_topics(bootstrap_servers: str, topics: Catalog | None = None, timeout: float = 30.0) -> list[str]:
    """Create missing topics (scaled to the cluster's broker count) and grow partitions that fall short.

    Returns the names created. Existing topics keep their data; a topic with more partitions than the
    catalog says is reported as an error, since Kafka cannot shrink partitions.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, **librdkafka_settings()})
    metadata = admin.list_topics(timeout=timeout)
    scaled = (topics or catalog()).scaled(len(metadata.brokers))
    missing = [t for t in scaled if t.name not in metadata.topics]
    created: list[str] = []
    if missing:
        futures = admin.create_topics(
            [NewTopic(t.name, t.partitions, t.replicas, config=t.kafka_config()) for t in missing],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                # Metadata lags creation: a topic made a moment ago may be missing from the listing.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise RuntimeError(f"create topic {name}: {exc.args[0].str()}") from exc
                continue
            created.append(name)
            log.info("created topic %s", name)
    have = _partition_counts(admin, [t.name for t in scaled if t.name not in created], timeout)
    grow = []
    for topic in scaled:
        count = have.get(topic.name)
        if count is None:
            continue
        if count > topic.partitions:
            raise RuntimeError(f"topic {topic.name} has {count} partitions, catalog says {topic.partitions}")
        if count < topic.partitions:
            grow.append(NewPartitions(topic.name, topic.partitions))
    for name, future in (admin.create_partitions(grow, request_timeout=timeout) if grow else {}).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            raise RuntimeError(f"add partitions to {name}: {exc.args[0].str()}") from exc
    return created


def verify_topics(bootstrap_servers: str, topics: Iterable[Topic], timeout: float = 30.0) -> list[str]:
    """Problems with `topics` on a running cluster: each missing, or with other partitions than the catalog
    says. The client needs Describe on these topics alone (one it may not describe is a problem too)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, **librdkafka_settings()})
    problems = []
    for topic in topics:
        listed = admin.list_topics(topic.name, timeout=timeout).topics.get(topic.name)
        if listed is None or listed.error is not None:
            problems.append(f"topic {topic.name}: {listed.error.str() if listed else 'not listed'}")
        elif len(listed.partitions) != topic.partitions:
            problems.append(
                f"topic {topic.name} has {len(listed.partitions)} partitions, catalog says {topic.partitions}"
            )
    return problems


def _partition_counts(admin: AdminClient, names: list[str], timeout: float) -> dict[str, int]:
    """Partition count per topic, waiting (bounded) until the metadata lists every one of them."""
    deadline = time.monotonic() + timeout
    while True:
        listed = admin.list_topics(timeout=timeout).topics
        if all(name in listed for name in names) or time.monotonic() > deadline:
            return {name: len(listed[name].partitions) for name in names if name in listed}
        time.sleep(0.2)
