"""The workflows on the synthesized `local` environment against moto and the local Kubernetes API, with real
OpenTofu and the real aws, kubernetes and helm providers, in order: deploy of all nine stacks, a second
deploy that plans nothing, drift made through boto3 and the kubernetes client and named, a custom resource
breaking its CRD refused during a deploy, then destroy (nothing left in the emulator or the API) and deploy
again (the same plan). Wall times are printed (-s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import dynamic
from kubernetes.dynamic.resource import ResourceList

from app import services
from app.catalog.strimzi import kafka_topics
from app.kafka_access import kafka_users
from infra import database, identities, vendor_secrets
from infra.bootstrap import crds
from infra.bootstrap.common import REPO
from infra.bootstrap.provider_versions import BUILT_VERSIONS
from infra.config import load_environment
from infra.emulator.aws import AwsEmulator
from infra.kube.apiserver import LocalKubernetes
from infra.tofu.runner import TofuError
from infra.workflows import drift
from infra.workflows.deploy import deploy, deploy_stack
from infra.workflows.stackset import AwsTarget, Stack, synthesize
from infra.workflows.teardown import teardown

pytestmark = pytest.mark.timeout(2400)


def inventory(aws: AwsEmulator) -> set[tuple[str, str]]:
    """Everything the stacks can create, as (kind, id). KMS keys pending deletion count as gone, and AWS
    managed keys (alias/aws/<service>, made on a service's first encrypted use) are AWS's, never ours."""
    ec2, iam, kms = aws.client("ec2"), aws.client("iam"), aws.client("kms")
    found = {("s3", b["Name"]) for b in aws.client("s3").list_buckets()["Buckets"]}
    found |= {("eks", c) for c in aws.client("eks").list_clusters()["clusters"]}
    found |= {("dynamodb", t) for t in aws.client("dynamodb").list_tables()["TableNames"]}
    found |= {("logs", g["logGroupName"]) for g in aws.client("logs").describe_log_groups()["logGroups"]}
    found |= {("iam-role", r["RoleName"]) for r in iam.list_roles()["Roles"]}
    found |= {("oidc", p["Arn"]) for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
            found.add(("kms-key", key["KeyId"]))
    found |= {
        ("kms-alias", a["AliasName"])
        for a in kms.list_aliases()["Aliases"]
        if "alias/aws/" not in a["AliasName"]
    }
    found |= {("vpc", v["VpcId"]) for v in ec2.describe_vpcs()["Vpcs"]}
    found |= {("subnet", s["SubnetId"]) for s in ec2.describe_subnets()["Subnets"]}
    found |= {("route-table", r["RouteTableId"]) for r in ec2.describe_route_tables()["RouteTables"]}
    found |= {("igw", i["InternetGatewayId"]) for i in ec2.describe_internet_gateways()["InternetGateways"]}
    found |= {("eip", a["AllocationId"]) for a in ec2.describe_addresses()["Addresses"]}
    found |= {
        ("eni", n["NetworkInterfaceId"]) for n in ec2.describe_network_interfaces()["NetworkInterfaces"]
    }
    found |= {("flow-log", f["FlowLogId"]) for f in ec2.describe_flow_logs()["FlowLogs"]}
    found |= {("secret", s["Name"]) for s in aws.client("secretsmanager").list_secrets()["SecretList"]}
    nats = ec2.describe_nat_gateways()["NatGateways"]
    found |= {("nat", n["NatGatewayId"]) for n in nats if n["State"] not in ("deleted", "deleting")}
    return found


def kube_inventory(api: k8s.ApiClient) -> set[tuple[str, str, str]]:
    """Every object the API server stores, as (api version/kind, namespace, name); leases renewed by the API
    server itself and events are the API's own bookkeeping."""
    found = set()
    discovery = dynamic.DynamicClient(api).resources
    discovery.invalidate_cache()  # it is cached in a file per server: the CRDs' kinds installed since count
    for resource in discovery.search():
        if isinstance(resource, ResourceList) or "list" not in (resource.verbs or []):
            continue  # the List kinds, subresources
        if resource.kind in ("Lease", "Event") or "/" in resource.name:
            continue
        for item in resource.get().items:
            found.add(
                (
                    f"{resource.group_version}/{resource.kind}",
                    item.metadata.namespace or "",
                    item.metadata.name,
                )
            )
    return found


def plan_shape(outcomes: list) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    return {o.plan.stack: sorted((c.address, c.actions) for c in o.plan.changes) for o in outcomes}


@pytest.fixture(scope="module")
def local(tofu_toolchain, emulator, local_kubernetes: LocalKubernetes, tmp_path_factory) -> SimpleNamespace:
    outdir = tmp_path_factory.mktemp("cdktf.out")
    api = k8s_config.new_client_from_config(config_file=str(local_kubernetes.kubeconfig))
    baseline, kube_baseline = inventory(emulator), kube_inventory(api)
    stacks = synthesize("local", outdir)
    target = AwsTarget(
        load_environment("local"),
        emulator.endpoint,
        {**emulator.tofu_env(), **local_kubernetes.tofu_env()},
        local_kubernetes.kubeconfig,
    )
    return SimpleNamespace(
        outdir=outdir,
        stacks=stacks,
        target=target,
        api=api,
        baseline=baseline,
        kube_baseline=kube_baseline,
        first_plan=None,
    )


def state_resource(local: SimpleNamespace, stack: str, type_: str) -> list[dict[str, Any]]:
    state = local.target.tofu(next(s for s in local.stacks if s.name == stack)).show_json()
    return [r for r in state["values"]["root_module"]["resources"] if r["type"] == type_]


def test_deploy_applies_all_nine_stacks_into_the_emulator_and_the_kubernetes_api(local, emulator):
    started = time.monotonic()
    outcomes = deploy(local.stacks, local.target)
    print(f"\ndeploy local (cold): {time.monotonic() - started:.1f}s")

    assert [o.plan.stack for o in outcomes if o.applied] == [s.name for s in local.stacks]
    cfg = local.target.cfg
    assert cfg.cluster_name in emulator.client("eks").list_clusters()["clusters"]
    created = inventory(emulator) - local.baseline
    assert {kind for kind, _ in created} >= {"s3", "kms-key", "kms-alias", "vpc", "subnet", "eks", "iam-role"}

    stored = kube_inventory(local.api) - local.kube_baseline
    served_crds = {name for kind, _, name in stored if kind.endswith("/CustomResourceDefinition")}
    pinned_crds = {p.stem for name in crds.OPERATORS for p in crds.crd_files(name)}
    assert served_crds == pinned_crds
    assert ("storage.k8s.io/v1/StorageClass", "", "gp3-optimized") in stored
    data = identities.DATA_NAMESPACE
    assert ("v1/Namespace", "", data) in stored
    assert ("v1/ConfigMap", data, "waardhaven-environment") in stored
    assert ("v1/ServiceAccount", data, identities.FLINK_SERVICE_ACCOUNT) in stored
    assert {
        ("flink.apache.org/v1beta1/FlinkDeployment", data, job) for job in ("market-data", "news")
    } <= stored
    # The Kafka cluster, its node pools, every catalog topic and a user per workload, each accepted by the
    # API server against its CRD; the namespace's network policies.
    strimzi = "kafka.strimzi.io/v1beta2"
    assert (f"{strimzi}/Kafka", data, "waardhaven-kafka-cluster") in stored
    assert {(f"{strimzi}/KafkaNodePool", data, pool) for pool in ("controllers", "brokers")} <= stored
    assert {(f"{strimzi}/KafkaTopic", data, t["metadata"]["name"]) for t in kafka_topics()} <= stored
    users = {(f"{strimzi}/KafkaUser", data, u["metadata"]["name"]) for u in kafka_users("local", data)}
    assert users <= stored
    assert ("networking.k8s.io/v1/NetworkPolicy", data, "default-deny") in stored
    # The database and the services, each accepted against its CRD or the API's own schema.
    assert ("postgresql.cnpg.io/v1/Cluster", data, database.CLUSTER) in stored
    assert ("postgresql.cnpg.io/v1/ScheduledBackup", data, f"{database.CLUSTER}-daily") in stored
    for service in (*services.connectors(), *services.sinks()):
        assert ("apps/v1/Deployment", data, service.name) in stored
        assert ("policy/v1/PodDisruptionBudget", data, service.name) in stored
    assert {("keda.sh/v1alpha1/ScaledObject", data, sink.name) for sink in services.sinks()} <= stored
    assert ("external-secrets.io/v1/SecretStore", data, "vendor-credentials") in stored
    # The vendor secrets exist in the emulator, KMS-encrypted, with no value in them.
    secrets = emulator.client("secretsmanager").list_secrets()["SecretList"]
    names = {s["Name"] for s in secrets if s["Name"].startswith(vendor_secrets.prefix("local"))}
    assert names == {vendor_secrets.secret_name("local", v) for v in services.vendor_credentials()}
    assert all(s.get("KmsKeyId") for s in secrets if s["Name"] in names)
    local.first_plan = plan_shape(outcomes)


def test_a_second_deploy_plans_no_changes(local):
    started = time.monotonic()
    outcomes = deploy(local.stacks, local.target)
    print(f"\ndeploy local (no change): {time.monotonic() - started:.1f}s")
    assert [o.plan.stack for o in outcomes if o.applied or o.plan.changes] == []
    assert not any(o.plan.skipped for o in outcomes)


def test_drift_names_exactly_what_was_changed_outside_in_aws_and_in_kubernetes(local, emulator):
    lifecycle = state_resource(local, "local-data-lake", "aws_s3_bucket_lifecycle_configuration")[0]
    bucket = lifecycle["values"]["bucket"]
    bucket_address = next(
        r["address"]
        for r in state_resource(local, "local-data-lake", "aws_s3_bucket")
        if r["values"]["bucket"] == bucket
    )
    s3 = emulator.client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    rules[0]["ID"] = "changed-by-hand"
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    tags.append({"Key": "hand-made", "Value": "yes"})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    # In the cluster, with the kubernetes client: a label the pipeline chart sets, a Flink job's parallelism.
    data = identities.DATA_NAMESPACE
    k8s.CoreV1Api(local.api).patch_namespaced_config_map(
        "waardhaven-environment", data, {"metadata": {"labels": {"app.kubernetes.io/part-of": "by-hand"}}}
    )
    k8s.CustomObjectsApi(local.api).patch_namespaced_custom_object(
        "flink.apache.org", "v1beta1", data, "flinkdeployments", "news", {"spec": {"job": {"parallelism": 7}}}
    )

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "drift", "local", "--outdir", str(local.outdir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **local.target.tofu_env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(f"\nwh drift local: {time.monotonic() - started:.1f}s")
    assert result.returncode == drift.EXIT_DRIFT, result.stderr
    assert "## Drift in local" in result.stdout

    found = reported(result.stdout)
    pipeline, flink = "helm_release.waardhaven-pipeline", "helm_release.flink-jobs"
    assert set(found) == {lifecycle["address"], bucket_address, pipeline, flink}
    assert found[lifecycle["address"]] == ("rule[0].id",)
    # tags_all always; tags too when the bucket sets its own tags (the provider mirrors them).
    assert "tags_all.hand-made" in found[bucket_address]
    assert set(found[bucket_address]) <= {"tags.hand-made", "tags_all.hand-made"}
    assert found[pipeline] == (
        f"resources.configmap/v1/{data}/waardhaven-environment.metadata.labels.app.kubernetes.io/part-of",
    )
    assert found[flink] == (
        f"resources.flinkdeployment.flink.apache.org/v1beta1/{data}/news.spec.job.parallelism",
    )

    deploy(local.stacks, local.target)  # puts all four back
    # The report above found none in the other stacks: the two that had drift are checked again.
    drifted = [s for s in local.stacks if s.name == "local-data-lake" or s.layer == "platform"]
    assert len(drifted) == 2
    assert [d for s in drifted for d in drift.detect(s, local.target)] == []


def reported(markdown: str) -> dict[str, tuple[str, ...]]:
    """address -> attributes, from the rows of `wh drift`'s Markdown table (drift.render)."""
    found = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`"):
            found[cells[1].strip("`")] = tuple(a.strip().strip("`") for a in cells[3].split(","))
    return found


def test_a_custom_resource_breaking_its_crd_is_refused_during_deploy_naming_the_field(local, tmp_path):
    """A stack of one release, its chart the catalog's first KafkaTopic with a string partition count."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: refused-topic\nversion: 0.1.0\n")
    topic = kafka_topics(namespace="default")[0]
    topic["spec"]["partitions"] = "twelve"
    (chart / "templates" / "topic.yaml").write_text(yaml.safe_dump(topic))
    connection = {"config_path": "${var.kubeconfig}"}
    config = {
        "terraform": {
            "required_providers": {
                "helm": {"source": "hashicorp/helm", "version": BUILT_VERSIONS["hashicorp/helm"]}
            }
        },
        "variable": {"kubeconfig": {"type": "string"}},
        "provider": {"helm": [{"kubernetes": connection}]},
        "resource": {
            "helm_release": {
                "refused": {"name": "refused-topic", "chart": str(chart), "namespace": "default"}
            }
        },
    }
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "cdk.tf.json").write_text(json.dumps(config))
    stack = Stack("local-refused", "platform", tmp_path / "stack", True, frozenset({"helm"}))

    core = k8s.CoreV1Api(local.api)
    try:
        with pytest.raises(TofuError) as refused:
            deploy_stack(stack, local.target)
        assert "spec.partitions" in refused.value.output and "integer" in refused.value.output
        assert f'KafkaTopic.kafka.strimzi.io "{topic["metadata"]["name"]}" is invalid' in refused.value.output
        topics = k8s.CustomObjectsApi(local.api).list_namespaced_custom_object(
            "kafka.strimzi.io", "v1beta2", "default", "kafkatopics"
        )
        assert topics["items"] == []
    finally:
        # Helm records the failed install, OpenTofu does not: its record goes with it.
        for secret in core.list_namespaced_secret("default", label_selector="name=refused-topic").items:
            core.delete_namespaced_secret(secret.metadata.name, "default")


def test_destroy_leaves_nothing_and_deploying_again_gives_the_same_plan(local, emulator):
    bucket = state_resource(local, "local-data-lake", "aws_s3_bucket")[0]["values"]["bucket"]
    s3 = emulator.client("s3")
    for body in (b"v1", b"v2"):  # two versions, then a delete marker: all must go for the bucket to go
        s3.put_object(Bucket=bucket, Key="year=2026/part-0.parquet", Body=body)
    s3.delete_object(Bucket=bucket, Key="year=2026/part-0.parquet")

    started = time.monotonic()
    teardown(local.stacks, local.target)
    destroyed = time.monotonic()
    assert inventory(emulator) - local.baseline == set()
    assert kube_inventory(local.api) - local.kube_baseline == set()

    outcomes = deploy(local.stacks, local.target)
    print(
        f"\nrecreate local: destroy {destroyed - started:.1f}s + deploy {time.monotonic() - destroyed:.1f}s"
    )
    assert plan_shape(outcomes) == local.first_plan
