"""The topic catalog: the numbers of docs/requirements.md#topics, the scaling rule, load-time errors, the
Strimzi rendering."""

import pytest
import yaml

from app.catalog import CATALOG_PATH, catalog, load_catalog
from app.catalog.strimzi import kafka_topics, render_yaml
from app.yamlconfig import ConfigError


def test_brief_topics_have_the_briefs_settings():
    topics = catalog()
    raw = topics["market-data-raw"]
    assert (raw.partitions, raw.replicas, raw.min_insync_replicas) == (24, 3, 2)
    assert raw.kafka_config() == {
        "retention.ms": "604800000",
        "retention.bytes": "-1",
        "segment.ms": "3600000",
        "compression.type": "lz4",
        "cleanup.policy": "delete",
        "min.insync.replicas": "2",
    }
    processed = topics["market-data-processed"].kafka_config()
    assert (
        topics["market-data-processed"].partitions,
        processed["retention.ms"],
        processed["segment.ms"],
    ) == (
        12,
        "2592000000",
        "86400000",
    )
    news = topics["news-sentiment-stream"]
    assert (news.partitions, news.compression, news.retention_ms) == (8, "gzip", 2592000000)
    insider = topics["insider-trading-events"]
    assert (insider.partitions, insider.compression, insider.retention_ms) == (4, "gzip", 31536000000)


def test_every_pipeline_has_one_dead_letter_topic():
    topics = catalog()
    assert set(topics.pipelines) >= {"market-data", "news", "insider-trading", "economic"}
    for pipeline in topics.pipelines:
        assert topics.dead_letter(pipeline).kind == "dead-letter"


@pytest.mark.parametrize(("brokers", "replicas", "min_isr"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (6, 3, 2)])
def test_one_rule_scales_replicas_and_min_isr(brokers, replicas, min_isr):
    scaled = catalog().scaled(brokers)["market-data-raw"]
    assert (scaled.replicas, scaled.min_insync_replicas) == (replicas, min_isr)
    assert scaled.partitions == 24


def _write(tmp_path, text):
    path = tmp_path / "topics.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "key", "fragment"),
    [
        (
            "topics:\n  t:\n    pipeline: p\n    kind: raw\n    schema: article\n    partitions: 0\n"
            "    retention: 1d\n    compression: lz4\n",
            "topics.t.partitions",
            "greater than or equal to 1",
        ),
        (
            "topics:\n  t:\n    pipeline: p\n    kind: raw\n    schema: article\n    partitions: 1\n"
            "    retention: 1d\n    compression: xz\n",
            "topics.t.compression",
            "'lz4', 'gzip'",
        ),
        (
            "topics:\n  t:\n    pipeline: p\n    kind: raw\n    schema: article\n    partitions: 1\n"
            "    retention: 7 days\n    compression: lz4\n",
            "topics.t.retention",
            "7d, 1h",
        ),
        (
            "topics:\n  t:\n    pipeline: p\n    kind: raw\n    schema: article\n    partitions: 1\n"
            "    retention: 1d\n    compression: lz4\n    colour: red\n",
            "topics.t.colour",
            "Extra inputs",
        ),
        (
            "topics:\n  t:\n    pipeline: p\n    kind: raw\n    schema: article\n    partitions: 1\n"
            "    retention: 1d\n    compression: lz4\n",
            "topics",
            "exactly one dead-letter",
        ),
    ],
)
def test_bad_catalog_fails_on_load_naming_file_key_and_allowed(tmp_path, body, key, fragment):
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    assert info.value.path == str(path)
    assert info.value.key == key
    assert fragment in str(info.value)


def test_strimzi_topics_render_from_the_catalog():
    resources = kafka_topics()
    names = [r["metadata"]["name"] for r in resources]
    assert names == list(catalog().topics)
    raw = resources[names.index("market-data-raw")]
    assert raw["kind"] == "KafkaTopic" and raw["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert raw["metadata"]["labels"]["strimzi.io/cluster"] == "waardhaven-kafka-cluster"
    assert raw["spec"] == {
        "partitions": 24,
        "replicas": 3,
        "config": catalog()["market-data-raw"].kafka_config(),
    }
    local = {r["metadata"]["name"]: r for r in kafka_topics(brokers=1)}
    assert local["market-data-raw"]["spec"]["replicas"] == 1
    assert local["market-data-raw"]["spec"]["config"]["min.insync.replicas"] == "1"
    assert list(yaml.safe_load_all(render_yaml())) == resources


def test_catalog_file_is_the_one_loaded():
    assert load_catalog(CATALOG_PATH).topics.keys() == catalog().topics.keys()
