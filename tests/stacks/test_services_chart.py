"""charts/waardhaven-services as the platform stack installs it: a Deployment per connector group and per
load (app/services.py), each under the restricted Pod Security Standard with requests and limits, probes and
metrics on the pod's address, on Kafka's TLS listener as its own KafkaUser; KEDA scaling the sinks on their
consumer group's lag; vendor keys only through External Secrets. (kubeconform: test_platform_charts.)"""

from __future__ import annotations

import pytest
import yaml

from app import kafka_client, services
from app.catalog import catalog
from infra import database, vendor_secrets
from tests.stacks.chart_helpers import RESTRICTED, release_values, render
from tests.stacks.synth_helpers import ENVS

pytestmark = pytest.mark.integration
CHART = "waardhaven-services"


def _rendered(synthesized, helm, env, tmp_path) -> dict[str, dict[str, dict]]:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in render(helm, CHART, release_values(synthesized, env, CHART, tmp_path)):
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return by_kind


@pytest.mark.parametrize("env", ENVS)
def test_every_service_runs_restricted_on_tls_as_its_kafka_user_with_probes_and_metrics(
    synthesized, helm, env, tmp_path
):
    rendered = _rendered(synthesized, helm, env, tmp_path)
    connectors, sinks = services.connectors(), services.sinks()
    names = {s.name for s in (*connectors, *sinks)}
    assert set(rendered["Deployment"]) == names
    assert set(rendered["PodDisruptionBudget"]) == names
    for name, deployment in rendered["Deployment"].items():
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["labels"][kafka_client.CLIENT_POD_LABEL] == "true"
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["spec"]["containers"]
        assert container["securityContext"] == RESTRICTED
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["image"].startswith("waardhaven/python-services@sha256:")
        (port,) = container["ports"]
        assert (port["name"], port["containerPort"]) == ("metrics", services.METRICS_PORT)
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}
        assert container["args"][:4] == ["--metrics-host", "$(POD_IP)", "--metrics-port", "9400"]
        variables = {e["name"]: e for e in container["env"]}
        assert variables["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        for variable, value in kafka_client.pod_environment("tls").items():
            assert variables[variable]["value"] == value
        user = {v["name"]: v for v in pod["spec"]["volumes"]}["kafka-user"]
        assert user["secret"]["secretName"] == name  # the KafkaUser's Secret, named after it
        selector = rendered["PodDisruptionBudget"][name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod["metadata"]["labels"].items()
        assert "--bootstrap-servers" in container["args"]
        assert container["args"][container["args"].index("--bootstrap-servers") + 1].endswith(":9093")
    for connector in connectors:
        args = rendered["Deployment"][connector.name]["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[4 : 5 + len(connector.sources)] == ["connect", *connector.sources]
    for sink in sinks:
        pod = rendered["Deployment"][sink.name]["spec"]["template"]
        assert pod["metadata"]["labels"][database.CLIENT_POD_LABEL] == "true"
        assert pod["spec"]["containers"][0]["args"][4:6] == ["load", sink.topic]
    (monitor,) = rendered["PodMonitor"].values()
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics"}]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_sinks_scale_on_their_consumer_groups_lag_over_tls_with_their_own_certificate(
    synthesized, helm, env, tmp_path
):
    rendered = _rendered(synthesized, helm, env, tmp_path)
    for sink in services.sinks():
        scaled = rendered["ScaledObject"][sink.name]["spec"]
        assert scaled["scaleTargetRef"] == {"name": sink.name}
        # one replica a partition at most: the group splits the topic's partitions among its members
        assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (1, catalog()[sink.topic].partitions)
        assert ("idleReplicaCount" in scaled) is (env != "prod")
        (trigger,) = scaled["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert (meta["consumerGroup"], meta["topic"], meta["tls"]) == (sink.name, sink.topic, "enable")
        auth = rendered["TriggerAuthentication"][trigger["authenticationRef"]["name"]]["spec"]
        refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["secretTargetRef"]}
        assert refs == {
            "ca": (kafka_client.CLUSTER_CA_SECRET, "ca.crt"),
            "cert": (sink.name, "user.crt"),
            "key": (sink.name, "user.key"),
        }


@pytest.mark.parametrize("env", ENVS)
def test_vendor_keys_come_only_from_secrets_manager_through_external_secrets(
    synthesized, helm, env, tmp_path
):
    rendered = _rendered(synthesized, helm, env, tmp_path)
    (store,) = rendered["SecretStore"].values()
    aws = store["spec"]["provider"]["aws"]
    assert aws["service"] == "SecretsManager"
    assert aws["auth"] == {"jwt": {"serviceAccountRef": {"name": "secrets-service-account"}}}
    credentials = set(services.vendor_credentials())
    for connector in services.connectors():
        pod = rendered["Deployment"][connector.name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert not credentials & {e["name"] for e in container["env"]}  # never a literal
        if not connector.credentials:
            assert "envFrom" not in container
            continue
        (source,) = container["envFrom"]
        external = rendered["ExternalSecret"][source["secretRef"]["name"]]["spec"]
        assert external["target"]["name"] == source["secretRef"]["name"]
        assert {d["secretKey"]: d["remoteRef"]["key"] for d in external["data"]} == {
            variable: vendor_secrets.secret_name(env, variable) for variable in connector.credentials
        }
    for sink in services.sinks():
        (container,) = rendered["Deployment"][sink.name]["spec"]["template"]["spec"]["containers"]
        password = {e["name"]: e for e in container["env"]}["PGPASSWORD"]
        assert password == {
            "name": "PGPASSWORD",
            "valueFrom": {"secretKeyRef": {"name": database.APP_SECRET, "key": "password"}},
        }
    # nothing rendered carries a credential's value: every credential-like variable is a reference
    text = yaml.safe_dump_all([d for kind in rendered.values() for d in kind.values()])
    for variable in (*credentials, "PGPASSWORD", "PGUSER"):
        for doc in yaml.safe_load_all(text):
            for container in _containers(doc):
                for entry in container.get("env", []):
                    assert entry["name"] != variable or "value" not in entry, (doc["metadata"], variable)


def _containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", spec)
    return pod.get("containers", []) if isinstance(pod, dict) else []
