"""Environment config: the shipped files load; every rejection names the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config import CONFIG_DIR, ConfigError, environment_names, load_environment, load_file


def test_every_environment_of_the_product_has_a_valid_file():
    assert environment_names() == ["dev", "loadtest", "local", "prod", "staging"]
    for name in environment_names():
        assert load_environment(name).name == name


def test_adding_an_environment_is_adding_one_file(tmp_path: Path):
    (tmp_path / "qa.yaml").write_text((CONFIG_DIR / "dev.yaml").read_text())
    assert environment_names(tmp_path) == ["qa"]
    assert load_environment("qa", tmp_path).cluster_name == "waardhaven-qa"


def test_a_development_environment_may_be_rehearsed_on_the_emulator(tmp_path: Path):
    data = yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text())
    data["emulator"] = {"default_endpoint": "http://127.0.0.1:5000", "state_backend": "s3"}
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(data))
    assert load_environment("dev", tmp_path).emulator.state_backend == "s3"
    assert load_environment("local").emulator.state_backend == "local"


def _rejection(tmp_path: Path, base: str, change, filename: str | None = None) -> str:
    data = yaml.safe_load((CONFIG_DIR / f"{base}.yaml").read_text())
    change(data)
    path = tmp_path / (filename or f"{base}.yaml")
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    assert caught.value.path == str(path)
    return str(caught.value)


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def _delete(*keys):
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


REJECTIONS = [
    # (base file, change, expected error text after "<file>: ")
    (
        "dev",
        _set("network", "nat_gateways", 3),
        "network: Value error, unknown key 'nat_gateways'; allowed keys: cidr, az_count, nat_gateway_per_az, "
        "flow_log_retention_days",
    ),
    (
        "dev",
        _set("colour", "blue"),
        "<top level>: Value error, unknown key 'colour'; allowed keys: name, tier,",
    ),
    ("dev", _set("network", "az_count", "3"), "network.az_count: Input should be a valid integer (got '3')"),
    (
        "dev",
        _set("account_id", 100000000001),
        "account_id: Input should be a valid string (got 100000000001)",
    ),
    ("dev", _set("network", "az_count", 9), "network.az_count: Value error, must be between 1 and 6 (got 9)"),
    (
        "dev",
        _set("eks", "node_groups", "system", "max_size", 500),
        "eks.node_groups.system.max_size: Value error, must be between 1 and 100 (got 500)",
    ),
    (
        "dev",
        _set("eks", "node_groups", "system", "min_size", 5),
        "eks.node_groups.system: Value error, sizes must satisfy min_size <= desired_size <= max_size "
        "(got 5 <= 2 <= 4)",
    ),
    (
        "dev",
        _set("eks", "kubernetes_version", "1.21"),
        "eks.kubernetes_version: Value error, must be one of 1.31, 1.32, 1.33 (got '1.21')",
    ),
    (
        "dev",
        _set("eks", "log_retention_days", 10),
        "eks.log_retention_days: Value error, must be one of 1, 3, 5, 7, 14, 30, 60, 90,",
    ),
    (
        "dev",
        _set("tier", "qa"),
        "tier: Input should be 'production', 'staging', 'development', 'ephemeral' or 'local' (got 'qa')",
    ),
    (
        "dev",
        _set("eks", "node_groups", "system", "capacity_type", "RESERVED"),
        "eks.node_groups.system.capacity_type: Input should be 'ON_DEMAND' or 'SPOT' (got 'RESERVED')",
    ),
    (
        "dev",
        _set("network", "cidr", "10.0.0.0/24"),
        "network.cidr: Value error, must be a /16 to /20 network, to leave room for a public and a private "
        "subnet per AZ",
    ),
    ("dev", _delete("region"), "region: Field required"),
    (
        "dev",
        _set("data_lake", "ingest_gib_per_day", "logs", 5),
        "data_lake.ingest_gib_per_day: Value error, unknown bucket 'logs'; the lake's buckets are raw-data, "
        "processed-data, ml-models, flink-state",
    ),
    (
        "dev",
        _delete("data_lake", "ingest_gib_per_day", "ml-models"),
        "data_lake.ingest_gib_per_day: Value error, give every lake bucket its GiB per day (0 for none); "
        "missing: ml-models",
    ),
    (
        "dev",
        _set("data_lake", "ingest_gib_per_day", "raw-data", -1),
        "data_lake.ingest_gib_per_day: Value error, raw-data: GiB per day must be between 0 and 1000000, "
        "got -1",
    ),
    (
        "prod",
        _set("network", "az_count", 1),
        "network.az_count: production must be multi-AZ: at least 2 (got 1)",
    ),
    (
        "prod",
        _set("data_lake", "force_destroy", True),
        "data_lake.force_destroy: production buckets must never be force-destroyed: must be false",
    ),
    (
        "prod",
        _set("network", "nat_gateway_per_az", False),
        "network.nat_gateway_per_az: production needs one NAT gateway per AZ: must be true",
    ),
    (
        "prod",
        _set("features", "deletion_protection", False),
        "features.deletion_protection: production must protect stateful resources: must be true",
    ),
    (
        "staging",
        _set("data_lake", "force_destroy", True),
        "data_lake.force_destroy: contradicts features.deletion_protection: true; set one of them",
    ),
    (
        "prod",
        _set("emulator", {"default_endpoint": "http://127.0.0.1:5000", "state_backend": "s3"}),
        "emulator: not allowed for tier 'production': tiers production, staging deploy only to their "
        "real account",
    ),
    (
        "staging",
        _set("emulator", {"default_endpoint": "http://127.0.0.1:5000", "state_backend": "s3"}),
        "emulator: not allowed for tier 'staging'",
    ),
    (
        "local",
        _delete("emulator"),
        "emulator: an AWS emulator section is required for tier 'local'",
    ),
    (
        "local",
        _set("emulator", "state_backend", "gcs"),
        "emulator.state_backend: Input should be 'local' or 's3'",
    ),
    (
        "local",
        _set("emulator", "default_endpoint", "http://10.0.0.5:5000"),
        "emulator.default_endpoint: String should match pattern",
    ),
    (
        "local",
        _set("emulator", "kube_apiserver", "yes"),
        "emulator.kube_apiserver: Input should be a valid boolean (got 'yes')",
    ),
    (
        "dev",
        _set("kafka", "version", "3.6.0"),
        "kafka.version: Strimzi 0.45.0 runs Kafka 3.8.0, 3.8.1, 3.9.0, not 3.6.0",
    ),
    (
        "staging",
        _set("kafka", "controllers", "replicas", 2),
        "kafka.controllers.replicas: a KRaft quorum needs an odd number of controllers",
    ),
    (
        "prod",
        _set("kafka", "brokers", "replicas", 2),
        "kafka.brokers.replicas: production replicates every topic 3 times: at least 3 brokers (got 2)",
    ),
    (
        "dev",
        _set("kafka", "brokers", "volume_size", 100),
        "kafka.brokers: Value error, unknown key 'volume_size'; allowed keys: replicas, volumes, volume_gib",
    ),
    (
        "dev",
        _set("kafka", "brokers", "volumes", 5),
        "kafka.brokers.volumes: Value error, must be between 1 and 4 (got 5)",
    ),
    (
        "dev",
        _set("features", "eks_addons", False),
        "features.eks_addons: may be false only with an emulator; real clusters need the EBS CSI add-on",
    ),
    (
        "dev",
        _delete("eks", "node_groups", "data-processing"),
        "eks.node_groups.data-processing: a dedicated (tainted) data-processing node group is required",
    ),
    (
        "dev",
        _set("eks", "public_access_cidrs", []),
        "eks.public_access_cidrs: a public API endpoint needs at least one allowed CIDR",
    ),
    ("dev", _set("name", "dev"), "name: is taken from the file name; remove the key"),
    # a platform component without what it needs fails before synth starts
    (
        "dev",
        _set("components", ["kafka", "services"]),
        "components: services needs database: enable it too, or leave services out",
    ),
    (
        "dev",
        _set("components", ["monitoring", "flink_jobs"]),
        "components: flink_jobs needs kafka: enable it too, or leave flink_jobs out",
    ),
    (
        "dev",
        _set("components", ["kafka", "warehouse"]),
        "components.1: Input should be 'kafka', 'flink_jobs', 'database', 'services', 'batch' or "
        "'monitoring'",
    ),
    (
        "dev",
        _set("components", ["batch"]),
        "components: batch needs database: enable it too, or leave batch out",
    ),
    (
        "local",
        _set("components", ["database", "batch"]),
        "components: batch cannot run on the local Kubernetes API: the Spark operator's CRDs are in no",
    ),
]


@pytest.mark.parametrize(
    ("base", "change", "expected"), REJECTIONS, ids=[r[2].split(":")[0] for r in REJECTIONS]
)
def test_bad_config_is_rejected_naming_file_key_and_allowed_values(tmp_path, base, change, expected):
    message = _rejection(tmp_path, base, change)
    assert message.startswith(f"{tmp_path / (base + '.yaml')}: {expected}"), message


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(
        ConfigError, match=r"no such environment 'qa'; known environments: dev, loadtest, local, prod"
    ):
        load_environment("qa")


def test_invalid_yaml_and_bad_file_names_are_rejected(tmp_path: Path):
    broken = tmp_path / "dev.yaml"
    broken.write_text("tier: [unclosed\n")
    with pytest.raises(ConfigError, match=r"dev.yaml: <top level>: not valid YAML"):
        load_file(broken)
    message = _rejection(tmp_path, "dev", lambda data: None, filename="Dev_Env.yaml")
    assert message.startswith(f"{tmp_path / 'Dev_Env.yaml'}: name: String should match pattern"), message
