"""Render the topic catalog as Strimzi KafkaTopic resources (for the Kafka chart or kubectl), and the
brokers' defaults for topics and the cluster's internal topics."""

from __future__ import annotations

import yaml

from app.catalog import Catalog, catalog, scaled_replication
from app.kafka_client import CLUSTER, NAMESPACE

# docs/requirements.md#topics, broker-level settings. Replication is set by broker_config() from the
# catalog's defaults; inter-broker security is Strimzi's own (it refuses security.* and sasl.* here).
BROKER_SETTINGS = {
    "num.network.threads": 8,
    "num.io.threads": 16,
    "socket.send.buffer.bytes": 102400,
    "socket.receive.buffer.bytes": 102400,
    "socket.request.max.bytes": 104857600,
    "log.retention.hours": 168,
    "log.retention.bytes": 1073741824,  # the catalog's topics override it: retention.bytes -1
    "log.segment.bytes": 268435456,
    "log.roll.hours": 24,
    "auto.create.topics.enable": False,
    "delete.topic.enable": True,
    "compression.type": "lz4",
}


def broker_config(brokers: int, topics: Catalog | None = None) -> dict[str, object]:
    """The Kafka resource's `spec.kafka.config`: the settings above, and the catalog's default replication
    scaled to `brokers` by the topics' one rule (internal topics: offsets, transaction state, too)."""
    defaults = (topics or catalog()).defaults
    replicas, min_isr = scaled_replication(defaults.replicas, defaults.min_insync_replicas, brokers)
    return {
        **BROKER_SETTINGS,
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
    }


def kafka_topics(
    topics: Catalog | None = None,
    *,
    brokers: int | None = None,
    cluster: str = CLUSTER,
    namespace: str = NAMESPACE,
) -> list[dict]:
    """One KafkaTopic per catalog entry; `brokers` scales replicas with the catalog's one rule."""
    topics = topics or catalog()
    if brokers is not None:
        topics = topics.scaled(brokers)
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {
                "name": topic.name,
                "namespace": namespace,
                "labels": {"strimzi.io/cluster": cluster, "waardhaven.io/pipeline": topic.pipeline},
            },
            "spec": {
                "partitions": topic.partitions,
                "replicas": topic.replicas,
                "config": topic.kafka_config(),
            },
        }
        for topic in topics
    ]


def render_yaml(topics: Catalog | None = None, **kwargs) -> str:
    """The KafkaTopic resources as one multi-document YAML stream."""
    return yaml.safe_dump_all(kafka_topics(topics, **kwargs), sort_keys=False)
