"""Render the topic catalog as Strimzi KafkaTopic resources (for the pipeline chart or kubectl)."""

from __future__ import annotations

import yaml

from app.catalog import Catalog, catalog

CLUSTER = "waardhaven-kafka-cluster"
NAMESPACE = "data-processing"


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
