"""Operators (gp3 StorageClass, pinned Helm releases in dependency order) and the platform's own chart; on
the local Kubernetes API (local.yaml's one switch) the operators' CRDs alone and releases that wait for no
pod."""

from __future__ import annotations

import json

import pytest
import yaml

from app.catalog import catalog
from infra import images
from infra.bootstrap import crds
from infra.config import CONFIG_DIR, load_environment
from stacks.app import synth
from tests.stacks.synth_helpers import AWS_ENVS, ENVS, resource, resources


@pytest.mark.parametrize("env", ENVS)
def test_default_storage_class_is_encrypted_gp3_bound_on_first_consumer_and_expandable(synthesized, env):
    stack = synthesized.stack(f"{env}-operators")
    (storage_class,) = resources(stack, "kubernetes_storage_class_v1").values()
    assert storage_class["metadata"]["name"] == "gp3-optimized"  # the Kafka volumes ask for it
    assert storage_class["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage_class["storage_provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"]["type"] == "gp3" and storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["volume_binding_mode"] == "WaitForFirstConsumer"
    assert storage_class["allow_volume_expansion"] is True
    assert f"environment={env}" in storage_class["parameters"].values()  # volumes are tagged too


@pytest.mark.parametrize("env", AWS_ENVS)
def test_operators_are_pinned_from_the_environment_config(synthesized, env):
    cfg = load_environment(env)
    stack = synthesized.stack(f"{env}-operators")
    for name, chart in cfg.operators:
        release = resource(stack, "helm_release", name=chart.chart)
        assert (release["repository"], release["version"], release["namespace"]) == (
            chart.repository,
            chart.version,
            chart.namespace,
        ), name


@pytest.mark.parametrize("env", AWS_ENVS)
def test_releases_wait_for_what_they_use(synthesized, env):
    stack = synthesized.stack(f"{env}-operators")
    ids = {r["name"]: f"helm_release.{key}" for key, r in resources(stack, "helm_release").items()}
    flink = resource(stack, "helm_release", name="flink-kubernetes-operator")
    assert ids["cert-manager"] in flink["depends_on"]  # its webhook certificate
    prometheus = resource(stack, "helm_release", name="kube-prometheus-stack")
    (storage_class_id,) = resources(stack, "kubernetes_storage_class_v1")
    assert prometheus["depends_on"] == [f"kubernetes_storage_class_v1.{storage_class_id}"]
    cert_manager = resource(stack, "helm_release", name="cert-manager")
    assert yaml.safe_load(cert_manager["values"][0]) == {"crds": {"enabled": True}}  # CRDs before users


@pytest.mark.parametrize("env", AWS_ENVS)
def test_cluster_autoscaler_runs_with_its_irsa_role(synthesized, env):
    stack = synthesized.stack(f"{env}-operators")
    values = yaml.safe_load(resource(stack, "helm_release", name="cluster-autoscaler")["values"][0])
    assert values["autoDiscovery"]["clusterName"] == f"waardhaven-{env}"
    role_arn = values["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert f"cross-stack-reference-input-{env}-irsa" in role_arn and "cluster_autoscaler_role" in role_arn


def test_on_the_local_api_the_operators_stack_installs_each_operators_crds_alone(synthesized):
    cfg = load_environment("local")
    assert cfg.local_kubernetes
    stack = synthesized.stack("local-operators")
    releases = list(resources(stack, "helm_release").values())
    # The Spark operator has schemas of its API models but no CRD to install (infra.bootstrap.crds).
    charts = {name: getattr(cfg.operators, name) for name in crds.OPERATORS if crds.has_crds(name)}
    namespaces = {r["metadata"]["name"] for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert namespaces == {chart.namespace for chart in charts.values()} | {"data-processing"}
    for name, chart in charts.items():
        own = [r for r in releases if r["name"].startswith(f"{chart.chart}-crds")]
        assert len(own) == len(crds.chart_dirs(name)), name
        installed = []
        for release in own:
            assert "repository" not in release and release["namespace"] == chart.namespace
            assert (release["wait"], release["atomic"]) == (False, False)  # no operator pod will ever run
            files = synthesized.outdir / "stacks" / "local-operators" / release["chart"] / "files"
            installed += [p.name for p in files.iterdir()]
        assert sorted(installed) == sorted(p.name for p in crds.crd_files(name))  # each CRD exactly once
    assert len(releases) == sum(len(crds.chart_dirs(name)) for name in charts)


def test_local_providers_use_the_kubeconfig_of_the_local_api_run(synthesized):
    for layer in ("operators", "platform"):
        stack = synthesized.stack(f"local-{layer}")
        assert "aws_eks_cluster" not in stack.get("data", {})
        if layer == "operators":
            assert stack["provider"]["kubernetes"] == [{"config_path": "${var.kubeconfig}"}]
        (helm,) = stack["provider"]["helm"]
        assert helm["kubernetes"] == {"config_path": "${var.kubeconfig}"}


@pytest.mark.parametrize("env", ENVS)
def test_the_platform_namespace_comes_from_the_operators_stack(synthesized, env):
    (helm,) = synthesized.stack(f"{env}-platform")["provider"]["helm"]
    assert "experiments" not in helm  # see stacks/platform.py: the manifest experiment breaks a first install
    # ... which needs their namespace before they are planned: the operators stack makes it.
    operators = synthesized.stack(f"{env}-operators")
    assert "experiments" not in operators["provider"]["helm"][0]
    (data,) = [
        r
        for r in resources(operators, "kubernetes_namespace_v1").values()
        if r["metadata"]["name"] == "data-processing"
    ]
    assert data["metadata"]["labels"] == {  # every pod in it under the restricted Pod Security Standard
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    assert "kubernetes_namespace_v1" not in synthesized.stack(f"{env}-platform").get("resource", {})


@pytest.mark.parametrize("env", ENVS)
def test_platform_releases_wait_for_their_workloads_where_pods_run(synthesized, env):
    cfg = load_environment(env)
    waits = not cfg.local_kubernetes
    releases = resources(synthesized.stack(f"{env}-platform"), "helm_release")
    for release in releases.values():
        assert (release["wait"], release["atomic"]) == (waits, waits)
        assert "create_namespace" not in release  # the operators stack owns the namespaces
    namespaces = {release["name"]: release["namespace"] for release in releases.values()}
    # the monitoring chart goes where kube-prometheus-stack's selectors and Grafana sidecar look
    monitoring = cfg.operators.kube_prometheus_stack.namespace
    assert namespaces == {
        "waardhaven-pipeline": "data-processing",
        "waardhaven-kafka": "data-processing",
        "flink-jobs": "data-processing",
        "waardhaven-database": "data-processing",
        "waardhaven-services": "data-processing",
        "waardhaven-monitoring": monitoring,
    } | ({} if cfg.local_kubernetes else {"waardhaven-batch": "data-processing"})


@pytest.mark.parametrize("env", ENVS)
def test_platform_installs_the_pipeline_chart_with_environment_values(synthesized, env):
    stack = synthesized.stack(f"{env}-platform")
    release = resource(stack, "helm_release", name="waardhaven-pipeline")
    chart_dir = synthesized.outdir / "stacks" / f"{env}-platform" / release["chart"]
    assert (chart_dir / "Chart.yaml").is_file() and release["chart"].startswith("assets/")
    overrides, generated = (yaml.safe_load(v) for v in release["values"])
    assert overrides == yaml.safe_load(open(f"charts/waardhaven-pipeline/values-{env}.yaml"))
    assert generated["lake"]["raw-data"] == f"waardhaven-{env}-raw-data"
    accounts = generated["serviceAccounts"]
    assert accounts["flink"]["name"] == "flink-service-account"
    assert all(f"cross-stack-reference-input-{env}-irsa" in a["roleArn"] for a in accounts.values())


@pytest.mark.parametrize("env", AWS_ENVS)
def test_kubernetes_providers_authenticate_against_the_environments_cluster(synthesized, env):
    for layer in ("operators", "platform"):
        stack = synthesized.stack(f"{env}-{layer}")
        assert stack["data"]["aws_eks_cluster"]["cluster"]["name"] == load_environment(env).cluster_name
        (helm,) = stack["provider"]["helm"]
        assert helm["kubernetes"]["token"] == "${data.aws_eks_cluster_auth.cluster_auth.token}"


@pytest.mark.parametrize("env", ENVS)
def test_flink_jobs_keep_state_under_their_prefixes_of_the_flink_state_bucket(synthesized, env):
    stack = synthesized.stack(f"{env}-platform")
    release = resource(stack, "helm_release", name="flink-jobs")
    overrides, generated = (yaml.safe_load(v) for v in release["values"])
    assert overrides == yaml.safe_load(open(f"charts/flink-jobs/values-{env}.yaml"))
    assert generated["storage"] == {
        "checkpoints": f"s3://waardhaven-{env}-flink-state/checkpoints/",
        "savepoints": f"s3://waardhaven-{env}-flink-state/savepoints/",
        "ha": f"s3://waardhaven-{env}-flink-state/ha/",
    }
    assert generated["serviceAccount"] == "flink-service-account"
    # the pipeline chart creates that account; the Kafka chart the users whose Secrets the pods mount
    assert release["depends_on"] == ["helm_release.waardhaven-pipeline", "helm_release.waardhaven-kafka"]
    assert generated["jobs"] == {
        "market-data": {"kafkaUser": "flink-market-data"},
        "news": {"kafkaUser": "flink-news"},
    }
    assert (
        generated["kafka"]["bootstrapServers"]
        == "waardhaven-kafka-cluster-kafka-bootstrap.data-processing.svc:9093"
    )


@pytest.mark.parametrize("env", ENVS)
def test_platform_installs_the_monitoring_chart_beside_kube_prometheus_stack(synthesized, env):
    stack = synthesized.stack(f"{env}-platform")
    release = resource(stack, "helm_release", name="waardhaven-monitoring")
    prometheus = load_environment(env).operators.kube_prometheus_stack
    assert release["namespace"] == prometheus.namespace
    files = synthesized.outdir / "stacks" / f"{env}-platform" / release["chart"] / "files"
    assert (files / "rules.yaml").is_file() and (files / "latency-thresholds" / f"{env}.yaml").is_file()
    (values,) = (yaml.safe_load(v) for v in release["values"])
    flink_jobs = yaml.safe_load(open("charts/flink-jobs/values.yaml"))
    assert values == {
        "prometheusRelease": prometheus.chart,
        "environment": env,
        "pipelineNamespace": "data-processing",
        "flinkJobs": sorted(flink_jobs["jobs"]),
        "flinkMetricsPort": flink_jobs["metricsPort"],
        "probe": {"image": images.PYTHON_SERVICES, "runAsUser": images.PYTHON_SERVICES_UID},
    }


@pytest.mark.parametrize("env", AWS_ENVS)
def test_strimzi_runs_its_pods_under_the_restricted_standard(synthesized, env):
    release = resource(synthesized.stack(f"{env}-operators"), "helm_release", name="strimzi-kafka-operator")
    values = yaml.safe_load(release["values"][0])
    assert {"name": "STRIMZI_POD_SECURITY_PROVIDER_CLASS", "value": "restricted"} in values["extraEnvs"]


@pytest.mark.parametrize("env", ENVS)
def test_the_kafka_release_carries_the_environments_cluster_topics_and_users(synthesized, env):
    cfg = load_environment(env)
    release = resource(synthesized.stack(f"{env}-platform"), "helm_release", name="waardhaven-kafka")
    values = [yaml.safe_load(v) for v in release["values"]]
    generated = values[-1]
    assert (generated["cluster"], generated["version"]) == ("waardhaven-kafka-cluster", cfg.kafka.version)
    assert generated["brokers"] == {
        "replicas": cfg.kafka.brokers.replicas,
        "volumes": cfg.kafka.brokers.volumes,
        "volumeGib": cfg.kafka.brokers.volume_gib,
    }
    assert generated["deleteClaim"] is (not cfg.features.deletion_protection)
    assert generated["externalListener"] is cfg.kafka.external_listener
    assert len(generated["topics"]) == len(list(catalog()))
    assert all(t["replicas"] <= cfg.kafka.brokers.replicas for t in generated["topics"].values())
    assert "triage" in generated["users"] and "tick-loader" in generated["users"]


def test_an_environment_deploys_only_the_platform_components_it_enables(tmp_path):
    data = yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text())
    data["components"] = ["kafka", "flink_jobs", "monitoring"]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.yaml").write_text(yaml.safe_dump(data))
    manifest = synth(["dev"], tmp_path / "out", tmp_path / "config")
    path = tmp_path / "out" / manifest["stacks"]["dev-platform"]["synthesizedStackPath"]
    releases = json.loads(path.read_text())["resource"]["helm_release"].values()
    assert {r["name"] for r in releases} == {
        "waardhaven-pipeline",
        "waardhaven-kafka",
        "flink-jobs",
        "waardhaven-monitoring",
    }
