"""Every chart the platform stack installs, with the values it passes in each environment: `helm lint`,
`helm template`, and kubeconform in strict mode against the pinned operators' CRD schemas (the `crds`
bootstrap step's). Core kinds have no offline schema here; the local deploy's API server validates them.
Then what the Kafka chart must say: the environment's node pools and listeners, the catalog's topics,
a user per workload, and network policies that let exactly the labelled clients reach the TLS listener."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from app.batch import session as batch_session
from app.catalog.strimzi import broker_config, kafka_topics
from app.kafka_access import kafka_users
from infra.config import load_environment
from tests.stacks.chart_helpers import conform, release_values, render
from tests.stacks.synth_helpers import ENVS, resources

pytestmark = pytest.mark.integration
CORE_KINDS = {
    "ConfigMap", "ServiceAccount", "NetworkPolicy", "Job", "Pod", "Deployment", "PersistentVolumeClaim",
    "PodDisruptionBudget", "Role", "RoleBinding",
}  # fmt: skip
RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by")


@pytest.mark.parametrize("env", ENVS)
def test_every_platform_chart_lints_renders_and_its_custom_resources_conform(
    synthesized, helm, kubeconform, env, tmp_path
):
    releases = resources(synthesized.stack(f"{env}-platform"), "helm_release").values()
    custom = []
    for release in releases:
        chart = release["name"]
        documents = render(
            helm, chart, release_values(synthesized, env, chart, tmp_path), release["namespace"]
        )
        assert documents, chart
        for doc in documents:
            labels = doc["metadata"].get("labels", {})
            assert all(key in labels for key in RECOMMENDED), (chart, doc["kind"], doc["metadata"]["name"])
            assert doc["kind"] != "Secret"  # credentials come from Strimzi and the secret store, never values
        custom += [d for d in documents if d["kind"] not in CORE_KINDS]
    result = conform(kubeconform, custom, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Valid: {len(custom)}, Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


def _kafka(synthesized, helm, env, tmp_path) -> dict[str, list[dict]]:
    documents = render(
        helm, "waardhaven-kafka", release_values(synthesized, env, "waardhaven-kafka", tmp_path)
    )
    by_kind: dict[str, list[dict]] = {}
    for doc in documents:
        by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


@pytest.mark.parametrize("env", ENVS)
def test_kafka_runs_kraft_node_pools_sized_by_the_environment(synthesized, helm, env, tmp_path):
    cfg = load_environment(env)
    rendered = _kafka(synthesized, helm, env, tmp_path)
    (kafka,) = rendered["Kafka"]
    assert kafka["metadata"]["name"] == "waardhaven-kafka-cluster"
    assert kafka["metadata"]["annotations"] == {
        "strimzi.io/node-pools": "enabled",
        "strimzi.io/kraft": "enabled",
    }
    spec = kafka["spec"]["kafka"]
    assert spec["version"] == cfg.kafka.version and "replicas" not in spec and "storage" not in spec
    assert spec["authorization"] == {"type": "simple"}
    assert spec["config"] == broker_config(cfg.kafka.brokers.replicas)
    replication = min(3, cfg.kafka.brokers.replicas)
    assert spec["config"]["default.replication.factor"] == replication
    assert spec["config"]["min.insync.replicas"] == max(1, min(2, replication - 1))
    assert spec["config"]["auto.create.topics.enable"] is False
    pools = {pool["metadata"]["name"]: pool["spec"] for pool in rendered["KafkaNodePool"]}
    assert pools["controllers"]["roles"] == ["controller"] and pools["brokers"]["roles"] == ["broker"]
    for name, pool in (("controllers", cfg.kafka.controllers), ("brokers", cfg.kafka.brokers)):
        volumes = pools[name]["storage"]["volumes"]
        assert pools[name]["replicas"] == pool.replicas
        assert [v["size"] for v in volumes] == [f"{pool.volume_gib}Gi"] * pool.volumes
        assert {v["class"] for v in volumes} == {"gp3-optimized"}
        assert {v["deleteClaim"] for v in volumes} == {not cfg.features.deletion_protection}
    listeners = {listener["name"]: listener for listener in spec["listeners"]}
    assert listeners["tls"]["port"] == 9093 and listeners["tls"]["authentication"] == {"type": "tls"}
    assert listeners["tls"]["tls"] is True
    if cfg.kafka.external_listener:
        assert listeners["external"]["type"] == "loadbalancer"
        assert listeners["external"]["authentication"] == {"type": "scram-sha-512"}
    else:
        assert set(listeners) == {"tls"}
    (metrics,) = rendered["ConfigMap"]
    assert metrics["metadata"]["name"] == spec["metricsConfig"]["valueFrom"]["configMapKeyRef"]["name"]
    # `helm test`: the dead-letter topics verified over TLS as the triage user, a labelled Kafka client
    (test,) = rendered["Pod"]
    assert test["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test["metadata"]["labels"]["waardhaven.io/kafka-client"] == "true"
    (container,) = test["spec"]["containers"]
    assert container["args"] == [
        "topics",
        "--verify",
        "waardhaven-kafka-cluster-kafka-bootstrap.data-processing.svc:9093",
        "--kind",
        "dead-letter",
    ]
    volumes = {v["name"]: v["secret"]["secretName"] for v in test["spec"]["volumes"]}
    assert volumes == {"cluster-ca": "waardhaven-kafka-cluster-cluster-ca-cert", "user": "triage"}
    assert yaml.safe_load(metrics["data"]["kafka-metrics-config.yml"])["rules"]


def test_prod_has_the_requirements_brokers_and_the_external_scram_listener(synthesized, helm, tmp_path):
    rendered = _kafka(synthesized, helm, "prod", tmp_path)
    (brokers,) = [p["spec"] for p in rendered["KafkaNodePool"] if p["metadata"]["name"] == "brokers"]
    assert brokers["replicas"] == 6
    assert brokers["storage"] == {
        "type": "jbod",
        "volumes": [
            {
                "id": 0,
                "type": "persistent-claim",
                "size": "2000Gi",
                "class": "gp3-optimized",
                "deleteClaim": False,
                "kraftMetadata": "shared",
            },
            {
                "id": 1,
                "type": "persistent-claim",
                "size": "2000Gi",
                "class": "gp3-optimized",
                "deleteClaim": False,
            },
        ],
    }
    assert brokers["resources"] == {
        "requests": {"memory": "16Gi", "cpu": "4"},
        "limits": {"memory": "32Gi", "cpu": "8"},
    }
    assert (brokers["jvmOptions"]["-Xms"], brokers["jvmOptions"]["-Xmx"]) == ("8g", "16g")
    (kafka,) = rendered["Kafka"]
    assert {listener["name"] for listener in kafka["spec"]["kafka"]["listeners"]} == {"tls", "external"}


@pytest.mark.parametrize("env", ENVS)
def test_topics_are_the_catalog_scaled_and_users_are_the_workloads(synthesized, helm, env, tmp_path):
    cfg = load_environment(env)
    rendered = _kafka(synthesized, helm, env, tmp_path)
    expected = {t["metadata"]["name"]: t for t in kafka_topics(brokers=cfg.kafka.brokers.replicas)}
    topics = {t["metadata"]["name"]: t for t in rendered["KafkaTopic"]}
    assert set(topics) == set(expected)
    for name, topic in topics.items():
        assert topic["spec"] == expected[name]["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "waardhaven-kafka-cluster"
        assert topic["spec"]["replicas"] <= cfg.kafka.brokers.replicas
    users = {u["metadata"]["name"]: u["spec"] for u in rendered["KafkaUser"]}
    assert users == {u["metadata"]["name"]: u["spec"] for u in kafka_users(env, "data-processing")}


@pytest.mark.parametrize("env", ["local", "prod"])
def test_network_policies_deny_by_default_and_admit_the_labelled_kafka_clients(
    synthesized, helm, env, tmp_path
):
    pipeline = render(
        helm, "waardhaven-pipeline", release_values(synthesized, env, "waardhaven-pipeline", tmp_path)
    )
    policies = {p["metadata"]["name"]: p["spec"] for p in pipeline if p["kind"] == "NetworkPolicy"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert {port["port"] for rule in policies["allow-dns"]["egress"] for port in rule["ports"]} == {53}
    (kafka,) = _kafka(synthesized, helm, env, tmp_path)["Kafka"]
    (tls,) = [listener for listener in kafka["spec"]["kafka"]["listeners"] if listener["name"] == "tls"]
    peer, scaler = tls["networkPolicyPeers"]
    # KEDA's operator, from its namespace, reads the sinks' lag
    assert scaler == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}},
    }
    client = policies["kafka-clients-to-tls-listener"]
    assert client["podSelector"] == peer["podSelector"]  # the clients Strimzi admits are the ones let out
    (egress,) = client["egress"]
    assert egress["ports"] == [{"protocol": "TCP", "port": tls["port"]}]
    flink = render(helm, "flink-jobs", release_values(synthesized, env, "flink-jobs", tmp_path))
    for deployment in (d for d in flink if d["kind"] == "FlinkDeployment"):
        labels = deployment["spec"]["podTemplate"]["metadata"]["labels"]
        assert labels.items() >= peer["podSelector"]["matchLabels"].items()
    services = render(
        helm, "waardhaven-services", release_values(synthesized, env, "waardhaven-services", tmp_path)
    )
    for deployment in (d for d in services if d["kind"] == "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels.items() >= peer["podSelector"]["matchLabels"].items()
    scrape = policies["prometheus-to-metrics"]["ingress"][0]
    # Flink's reporter, Kafka's exporter, CloudNativePG's PostgreSQL exporter, the services' app.serve
    assert {port["port"] for port in scrape["ports"]} == {9249, 9404, 9187, 9400}
    assert scrape["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


@pytest.mark.parametrize(
    ("chart", "change", "named"),
    [
        ("waardhaven-kafka", {"brokers": {"replica": 3}}, "replica"),
        ("waardhaven-kafka", {"deleteClaim": "no"}, "deleteClaim"),
        ("waardhaven-pipeline", {"logLevel": "LOUD"}, "logLevel"),
        ("flink-jobs", {"jobManager": {"replicas": "two"}}, "replicas"),
        ("waardhaven-monitoring", {"flinkMetricPort": 9249}, "flinkMetricPort"),
        ("waardhaven-database", {"instances": "three"}, "instances"),
        ("waardhaven-database", {"backup": {"retention": "7d"}}, "retention"),
        ("waardhaven-database", {"image": {"tag": "latest"}}, "tag"),
        ("waardhaven-services", {"sinks": {"scaling": {"idleToZero": "yes"}}}, "idleToZero"),
        ("waardhaven-services", {"connectors": {"replicas": 2}}, "replicas"),
        ("waardhaven-batch", {"executor": {"instances": 0}}, "instances"),
        ("waardhaven-batch", {"sparkConf": {"executor.memory": "8g"}}, "executor.memory"),
        (
            "waardhaven-pipeline",
            {"rbac": {"flink": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]}},
            "verbs",
        ),
    ],
)
def test_a_bad_value_fails_install_through_the_schema_naming_the_key(
    synthesized, helm, chart, change, named, tmp_path
):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(change))
    values = [*release_values(synthesized, "dev", chart, tmp_path), "-f", str(bad)]
    result = subprocess.run(
        [helm, "template", chart, f"charts/{chart}", *values], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert named in result.stderr


@pytest.mark.parametrize("env", ["local", "prod"])
def test_every_chart_has_notes_that_render_with_the_environments_values(synthesized, helm, env, tmp_path):
    # `helm template` leaves NOTES.txt out and a client-side dry run still wants a cluster: a copy of each
    # chart renders its notes through `tpl` with the same values instead.
    for release in resources(synthesized.stack(f"{env}-platform"), "helm_release").values():
        chart = release["name"]
        copy = tmp_path / chart
        shutil.copytree(f"charts/{chart}", copy)
        (copy / "notes-under-test.txt").write_text((copy / "templates" / "NOTES.txt").read_text())
        (copy / "templates" / "notes-under-test.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes-under-test}\n"
            'data: {notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}}\n'
        )
        values = release_values(synthesized, env, chart, tmp_path)
        rendered = subprocess.run(
            [helm, "template", chart, str(copy), "-n", release["namespace"], *values],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (notes,) = [
            d for d in yaml.safe_load_all(rendered) if d and d["metadata"]["name"] == "notes-under-test"
        ]
        text = notes["data"]["notes"]
        assert text.strip() and "<no value>" not in text, (chart, text)


@pytest.mark.parametrize(
    ("env", "driver", "executor"), [("prod", (2, "4g"), (4, 10, "8g")), ("dev", (1, "2g"), (2, 2, "4g"))]
)
def test_the_daily_batch_runs_on_the_data_processing_nodes_at_the_environments_sizes(
    synthesized, helm, env, driver, executor, tmp_path
):
    documents = render(
        helm, "waardhaven-batch", release_values(synthesized, env, "waardhaven-batch", tmp_path)
    )
    (scheduled,) = [d for d in documents if d["kind"] == "ScheduledSparkApplication"]
    spec = scheduled["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("0 2 * * *", "UTC", "Forbid")
    app = spec["template"]
    assert app["sparkConf"] == batch_session.settings("cluster")
    assert app["sparkVersion"] == batch_session.SPARK_VERSION
    assert app["arguments"] == ["--env", env]
    assert (app["driver"]["cores"], app["driver"]["memory"]) == driver
    assert (app["executor"]["cores"], app["executor"]["instances"], app["executor"]["memory"]) == executor
    for pod in (app["driver"], app["executor"]):
        assert pod["serviceAccount"] == "spark-service-account"
        assert pod["nodeSelector"] == {"workload-type": "data-processing"}
        assert pod["tolerations"] == [
            {"key": "workload-type", "operator": "Equal", "value": "data-processing", "effect": "NoSchedule"}
        ]
        assert pod["podSecurityContext"]["runAsNonRoot"] and pod["securityContext"]["capabilities"] == {
            "drop": ["ALL"]
        }
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in app["driver"]["env"] if "valueFrom" in e}
    assert secrets == {"waardhaven-timescaledb-app"}
    (test,) = [d for d in documents if d["kind"] == "Pod"]
    (preflight,) = test["spec"]["containers"]
    assert preflight["command"] == ["python", "-m", "app.batch.daily_job", "--check", "--env", env]
