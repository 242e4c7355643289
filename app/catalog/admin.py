"""Create the catalog's topics on a running broker (the local one, or any cluster you point it at)."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from app.catalog import Catalog, catalog

log = logging.getLogger(__name__)


def ensure_topics(bootstrap_servers: str, topics: Catalog | None = None, timeout: float = 30.0) -> list[str]:
    """Create missing topics (scaled to the cluster's broker count) and grow partitions that fall short.

    Returns the names created. Existing topics keep their data; a topic with more partitions than the
    catalog says is reported as an error, since Kafka cannot shrink partitions.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
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
            _wait(future, f"create topic {name}", timeout)
            created.append(name)
            log.info("created topic %s", name)
    grow = []
    for topic in scaled:
        existing = metadata.topics.get(topic.name)
        if existing is None:
            continue
        have = len(existing.partitions)
        if have > topic.partitions:
            raise RuntimeError(f"topic {topic.name} has {have} partitions, catalog says {topic.partitions}")
        if have < topic.partitions:
            grow.append(NewPartitions(topic.name, topic.partitions))
    for name, future in (admin.create_partitions(grow, request_timeout=timeout) if grow else {}).items():
        _wait(future, f"add partitions to {name}", timeout)
    return created


def _wait(future, what: str, timeout: float) -> None:
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        raise RuntimeError(f"{what}: {exc.args[0].str()}") from exc
