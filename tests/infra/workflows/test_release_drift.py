"""Reading Helm's record of a release and comparing it with live objects (the parts that need no cluster; the
local-environment test runs it against the local Kubernetes API)."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
import yaml

from infra.config import load_environment
from infra.process import ServiceError, free_port
from infra.workflows.drift import Drift, with_release_drift
from infra.workflows.release_drift import (
    ObjectDrift,
    ReleaseObjects,
    decode_release,
    differences,
    object_key,
    releases,
)
from infra.workflows.stackset import AwsTarget


def _as_the_api_returns(release: dict) -> bytes:
    # Helm's storage driver: JSON, gzipped, base64 (pkg/storage/driver/util.go encodeRelease); the Secret's
    # data is base64 once more on the wire.
    helm = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return base64.b64encode(helm)


def test_a_release_record_decodes_to_its_manifest():
    release = {"name": "flink-jobs", "version": 3, "manifest": "---\nkind: ConfigMap\n"}
    assert decode_release(_as_the_api_returns(release)) == release


def test_only_the_fields_the_manifest_sets_count():
    labels = {"app.kubernetes.io/part-of": "waardhaven"}
    desired = {"metadata": {"name": "a", "labels": labels}, "data": {"k": "1"}}
    live = {
        "metadata": {
            "name": "a",
            "labels": {"app.kubernetes.io/part-of": "by-hand", "added": "by the cluster"},
            "resourceVersion": "7",
        },
        "data": {"k": "1"},
        "status": {},
    }
    assert differences(desired, live) == ["metadata.labels.app.kubernetes.io/part-of"]
    put_back = {**live, "metadata": {**live["metadata"], "labels": labels}}
    assert differences(desired, put_back) == []


def test_a_zero_value_the_api_server_leaves_out_is_no_drift():
    column = {"name": "Age", "type": "date", "priority": 0}
    desired = {"spec": {"columns": [column], "replicas": 0, "paused": False, "note": ""}}
    assert differences(desired, {"spec": {"columns": [{"name": "Age", "type": "date"}]}}) == []
    assert differences(desired, {"spec": {"columns": [{**column, "priority": 1}]}}) == [
        "spec.columns[0].priority"
    ]
    assert differences({"spec": {"replicas": 2}}, {"spec": {}}) == ["spec.replicas"]


def test_lists_compare_by_position_and_a_changed_length_is_the_whole_list():
    desired = {"spec": {"ports": [{"port": 80}, {"port": 443}]}}
    assert differences(desired, {"spec": {"ports": [{"port": 80}, {"port": 8443}]}}) == ["spec.ports[1].port"]
    assert differences(desired, {"spec": {"ports": [{"port": 80}]}}) == ["spec.ports"]
    assert differences(desired, {"spec": None}) == ["spec"]


def test_objects_are_named_as_the_helm_provider_names_them():
    flink = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment"} | {
        "metadata": {"name": "news"}
    }
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "env"}}
    named = "flinkdeployment.flink.apache.org/v1beta1/data-processing/news"
    assert object_key(flink, "data-processing") == named
    assert object_key(config_map, "data-processing") == "configmap/v1/data-processing/env"
    assert object_key({**config_map, "kind": "Namespace"}, None) == "namespace/v1/env"


def test_the_releases_of_a_state_and_how_a_changed_object_is_reported():
    state = {
        "values": {
            "root_module": {
                "resources": [
                    {
                        "address": "helm_release.flink-jobs",
                        "mode": "managed",
                        "type": "helm_release",
                        "values": {"name": "flink-jobs", "namespace": "data-processing"},
                    },
                    {"address": "data.aws_eks_cluster.c", "mode": "data", "type": "aws_eks_cluster"},
                ]
            }
        }
    }
    assert releases(state) == [("helm_release.flink-jobs", "flink-jobs", "data-processing")]
    assert releases({}) == []
    changed = ObjectDrift("helm_release.flink-jobs", "configmap/v1/ns/a", "ns", ("data.k",), {})
    gone = ObjectDrift("helm_release.flink-jobs", "configmap/v1/ns/b", "ns", (), {})
    assert changed.attributes == ("resources.configmap/v1/ns/a.data.k",)
    assert gone.attributes == ("resources.configmap/v1/ns/b",)


def test_drift_inside_a_release_joins_the_plans_drift_of_that_release():
    values = Drift("s", "helm_release.a", "update", ("values[0]",))
    inside = [
        ObjectDrift("helm_release.a", "configmap/v1/ns/x", "ns", ("data.k",), {}),
        ObjectDrift("helm_release.b", "configmap/v1/ns/y", "ns", (), {}),
    ]
    assert with_release_drift("s", [values], inside) == [
        Drift("s", "helm_release.a", "update", ("values[0]", "resources.configmap/v1/ns/x.data.k")),
        Drift("s", "helm_release.b", "update", ("resources.configmap/v1/ns/y",)),
    ]


def test_an_unreachable_cluster_is_named_not_a_traceback(tmp_path):
    server = f"https://127.0.0.1:{free_port()}"  # nothing listens there
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    target = AwsTarget(load_environment("local"), "http://127.0.0.1:1", kubeconfig=kubeconfig)
    state = {
        "values": {
            "root_module": {
                "resources": [
                    {
                        "address": "helm_release.a",
                        "mode": "managed",
                        "type": "helm_release",
                        "values": {"name": "a", "namespace": "ns"},
                    }
                ]
            }
        }
    }
    with pytest.raises(ServiceError, match=rf"reading the helm releases' objects: {server} is not answering"):
        ReleaseObjects(target).drift(state)
