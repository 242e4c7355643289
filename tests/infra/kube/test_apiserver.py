"""The local Kubernetes API: TLS with the run's CA, only its admin gets in, namespaces are finalized by the
controller manager, and a custom resource that breaks its CRD's schema is refused naming the field."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from infra.bootstrap import crds, gotools
from infra.kube.apiserver import answers
from tests.conftest import unique_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(local_kubernetes) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(config_file=str(local_kubernetes.kubeconfig))


def wait_until(condition, timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {timeout:.0f}s")
        time.sleep(0.2)


def test_the_api_answers_its_admin_over_tls_and_nobody_else(local_kubernetes, api):
    assert answers(local_kubernetes.kubeconfig)
    assert k8s.VersionApi(api).get_code().git_version == gotools.KUBERNETES_VERSION
    assert local_kubernetes.server.startswith("https://127.0.0.1:")
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{local_kubernetes.server}/version", timeout=5)  # not the system's CAs'
    anonymous = ssl.create_default_context(cafile=str(local_kubernetes.workdir / "ca.crt"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{local_kubernetes.server}/api/v1/namespaces", context=anonymous, timeout=5)
    assert refused.value.code in (401, 403)


def test_a_deleted_namespace_is_finalized_with_its_contents(api):
    core = k8s.CoreV1Api(api)
    name = unique_name("ns").replace("_", "-")
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    core.create_namespaced_config_map(
        name, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="c"), data={"a": "b"})
    )
    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_until(gone, what=f"namespace {name} to be finalized by the namespace controller")


def test_a_custom_resource_breaking_its_crd_schema_is_refused_naming_the_field(api):
    extensions = k8s.ApiextensionsV1Api(api)
    (path,) = [p for p in crds.crd_files("strimzi") if p.name == "kafkatopics.kafka.strimzi.io.yaml"]
    crd = yaml.safe_load(path.read_text())
    extensions.create_custom_resource_definition(crd)
    try:

        def established() -> bool:
            status = extensions.read_custom_resource_definition(crd["metadata"]["name"]).status
            return any(c.type == "Established" and c.status == "True" for c in status.conditions or [])

        wait_until(established, what="the KafkaTopic CRD to be established")
        topic = {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {"name": "refused", "namespace": "default"},
            "spec": {"partitions": "many", "replicas": 1},
        }
        with pytest.raises(ApiException) as refused:
            k8s.CustomObjectsApi(api).create_namespaced_custom_object(
                "kafka.strimzi.io", "v1beta2", "default", "kafkatopics", topic
            )
        assert refused.value.status == 422
        assert "spec.partitions" in refused.value.body and "integer" in refused.value.body
    finally:
        extensions.delete_custom_resource_definition(crd["metadata"]["name"])
