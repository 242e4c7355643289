"""The catalog's topics on the real broker: created with the catalog's partitions and configs (scaled by
the one rule to one broker), idempotent, and grown when the catalog adds partitions."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics, verify_topics

pytestmark = pytest.mark.integration


def test_ensure_topics_creates_the_catalog_scaled_to_one_broker(kafka_broker):
    bootstrap = kafka_broker.bootstrap_servers
    topics = catalog().with_suffix(f"-c{uuid.uuid4().hex[:8]}")
    assert sorted(ensure_topics(bootstrap, topics)) == sorted(t.name for t in topics)
    assert ensure_topics(bootstrap, topics) == []  # a second run changes nothing

    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(timeout=10)
    raw = topics.scaled(1)[next(t.name for t in topics if t.name.startswith("market-data-raw"))]
    assert len(metadata.topics[raw.name].partitions) == 24
    assert all(len(p.replicas) == 1 for p in metadata.topics[raw.name].partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, raw.name)
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    for key, value in raw.kafka_config().items():
        assert config[key].value == value, key
    assert config["min.insync.replicas"].value == "1" and config["segment.ms"].value == "3600000"


def test_ensure_topics_grows_partitions_and_refuses_to_shrink(kafka_broker):
    bootstrap = kafka_broker.bootstrap_servers
    name = f"grow-{uuid.uuid4().hex[:8]}"
    base = catalog()["economic-indicators"].model_copy(update={"name": name, "partitions": 2})
    ensure_topics(bootstrap, Catalog([base]))
    ensure_topics(bootstrap, Catalog([base.model_copy(update={"partitions": 4})]))
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + 20  # metadata catches up with a partition change shortly after
    while (
        len(admin.list_topics(name, timeout=10).topics[name].partitions) != 4 and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert len(admin.list_topics(name, timeout=10).topics[name].partitions) == 4
    with pytest.raises(RuntimeError, match="has 4 partitions, catalog says 2"):
        ensure_topics(bootstrap, Catalog([base]))


def test_verify_names_each_missing_topic_and_each_with_other_partitions(kafka_broker):
    bootstrap = kafka_broker.bootstrap_servers
    suffix = f"-v{uuid.uuid4().hex[:8]}"
    present = catalog()["news-dead-letter"].model_copy(update={"name": f"present{suffix}", "partitions": 3})
    ensure_topics(bootstrap, Catalog([present]))
    assert verify_topics(bootstrap, [present]) == []
    missing = present.model_copy(update={"name": f"missing{suffix}"})
    other = present.model_copy(update={"partitions": 5})
    problems = verify_topics(bootstrap, [missing, other])
    assert problems[0].startswith(f"topic missing{suffix}: ")
    assert problems[1] == f"topic present{suffix} has 3 partitions, catalog says 5"
