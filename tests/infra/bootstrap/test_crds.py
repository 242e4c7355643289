"""The `crds` bootstrap step: the operators' CRDs at the pinned versions, and kubeconform schemas of them.

The conversion rules are checked on small CRDs written here; the fetched CRD sets (built by the bootstrap,
which `make test` runs) are checked for the kinds the platform uses and validated against with the
Go-built kubeconform in strict mode.
"""

from __future__ import annotations

import json

import pytest
import yaml

from app.catalog.strimzi import kafka_topics
from infra.bootstrap import crd_schema, crds
from infra.bootstrap.common import BootstrapError
from infra.config import environment_names, load_environment
from tests.stacks.chart_helpers import conform

# A few kinds each operator's CRD set must serve, as (group, kind lower-case, version).
EXPECTED_KINDS = {
    "strimzi": [
        ("kafka.strimzi.io", "kafka", "v1beta2"),
        ("kafka.strimzi.io", "kafkanodepool", "v1beta2"),
        ("kafka.strimzi.io", "kafkatopic", "v1beta2"),
        ("kafka.strimzi.io", "kafkauser", "v1beta2"),
    ],
    "flink_operator": [("flink.apache.org", "flinkdeployment", "v1beta1")],
    "kube_prometheus_stack": [
        ("monitoring.coreos.com", "servicemonitor", "v1"),
        ("monitoring.coreos.com", "podmonitor", "v1"),
        ("monitoring.coreos.com", "prometheusrule", "v1"),
    ],
    "cert_manager": [("cert-manager.io", "certificate", "v1"), ("cert-manager.io", "issuer", "v1")],
    "keda": [("keda.sh", "scaledobject", "v1alpha1")],
    "external_secrets": [
        ("external-secrets.io", "externalsecret", "v1"),
        ("external-secrets.io", "clustersecretstore", "v1"),
    ],
    "cloudnative_pg": [
        ("postgresql.cnpg.io", "cluster", "v1"),
        ("postgresql.cnpg.io", "scheduledbackup", "v1"),
    ],
}


def test_every_environment_pins_the_chart_versions_the_crds_are_fetched_for():
    for env in environment_names():
        for name, chart in load_environment(env).operators:
            assert name in crds.OPERATORS or name in crds.NO_CRDS, name
            if name in crds.OPERATORS:
                assert chart.version == crds.OPERATORS[name].chart_version, (env, name)


def test_the_spark_operator_has_schemas_of_its_api_models_and_no_crds():
    """Its CRDs are in no registry here: kubeconform validates its kinds against schemas of the models
    kubeflow-spark-api publishes, and no CRD chart exists to install on a local API server."""
    assert not crds.has_crds("spark_operator") and crds.has_crds("strimzi")
    assert crds.crd_files("spark_operator") == [] and crds.chart_dirs("spark_operator") == []
    for kind in ("scheduledsparkapplication", "sparkapplication"):
        path = crds.schema_dir("spark_operator") / f"sparkoperator.k8s.io/{kind}_v1beta2.json"
        schema = json.loads(path.read_text())
        assert schema["additionalProperties"] is False and "spec" in schema["properties"]
        objects = [d for d in schema["$defs"].values() if "properties" in d]
        assert objects and all("additionalProperties" in d for d in objects)


def test_kubeconform_names_a_wrong_or_unknown_field_of_a_scheduled_spark_application(kubeconform, tmp_path):
    app = {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "ScheduledSparkApplication",
        "metadata": {"name": "daily", "namespace": "data"},
        "spec": {
            "schedule": "0 2 * * *",
            "template": {
                "type": "Python",
                "mode": "cluster",
                "sparkVersion": "3.5.8",
                "mainApplicationFile": "local:///opt/job.py",
                "driver": {"cores": 2, "memory": "4g"},
                "executor": {"cores": 4, "instances": 10, "memory": "8g"},
            },
        },
    }
    accepted = conform(kubeconform, [app], tmp_path)
    assert accepted.returncode == 0 and "Valid: 1" in accepted.stdout, accepted.stdout + accepted.stderr
    wrong_type, unknown = json.loads(json.dumps([app, app]))
    wrong_type["spec"]["template"]["executor"]["instances"] = "ten"
    unknown["spec"]["template"]["driver"]["gpus"] = 1
    refused = conform(kubeconform, [wrong_type, unknown], tmp_path)
    assert refused.returncode == 1
    assert "/spec/template/executor/instances" in refused.stdout and "gpus" in refused.stdout
    assert "Invalid: 2" in refused.stdout


def test_a_crd_set_not_fetched_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("WAARDHAVEN_CACHE", str(tmp_path))
    with pytest.raises(
        BootstrapError, match=r"CRDs of keda v2\.18\.0 are not fetched .*infra.bootstrap crds"
    ):
        crds.crd_files("keda")


def _crd(schema: dict, **metadata) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.io", **metadata},
        "spec": {
            "group": "example.io",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}},
                {"name": "v0", "served": False, "storage": False, "schema": {"openAPIV3Schema": schema}},
            ],
        },
    }


WIDGET = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer"},
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "target": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "mode": {"type": "string", "enum": ["a", "b"], "nullable": True},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {"image": {"type": "string"}}}},
                },
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"id": {"type": "string"}}},
                },
            },
        }
    },
}


def test_schemas_close_objects_that_list_their_fields_as_a_strict_request_does():
    (path, schema), *others = crd_schema.schema_files(_crd(WIDGET)).items()
    assert path == "example.io/widget_v1.json" and others == []  # only served versions
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False and spec["required"] == ["size"]
    fields = spec["properties"]
    assert fields["items"]["items"]["additionalProperties"] is False
    assert "additionalProperties" not in fields["config"]  # preserve-unknown-fields: anything goes
    assert fields["labels"]["additionalProperties"] == {"type": "string"}
    assert set(fields["template"]["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    assert fields["template"]["properties"]["spec"]["additionalProperties"] is False


def test_schemas_admit_null_where_nullable_and_integer_or_string_where_int_or_string():
    fields = crd_schema.resource_schema(WIDGET)["properties"]["spec"]["properties"]
    assert fields["note"]["type"] == ["string", "null"]
    assert fields["mode"]["enum"] == ["a", "b", None]
    assert (
        fields["target"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
        and "type" not in fields["target"]
    )
    assert fields["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]


def test_cleaning_drops_helm_placeholders_and_keep_policies_and_nothing_of_the_schema():
    crd = _crd(
        WIDGET,
        labels={"app": '{{ template "cert-manager.name" . }}', "app.kubernetes.io/part-of": "widgets"},
        annotations={"helm.sh/resource-policy": "keep"},
    )
    cleaned = crd_schema.clean(crd)
    assert cleaned["metadata"] == {
        "name": "widgets.example.io",
        "labels": {"app.kubernetes.io/part-of": "widgets"},
    }
    assert cleaned["spec"] == crd["spec"]


def test_a_plain_equals_sign_is_read_as_a_string_as_kubernetes_reads_it(tmp_path):
    source = tmp_path / "widgets.yaml"
    schema = {"type": "object", "properties": {"op": {"type": "string", "enum": ["=", "!="]}}}
    source.write_text(yaml.safe_dump(_crd(schema)).replace("- '='", "- ="))
    assert "- =\n" in source.read_text()
    (crd,) = crd_schema.crd_documents(source)
    assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["op"]["enum"] == ["=", "!="]


def test_strimzi_runs_its_generator_with_the_arguments_of_its_own_build(tmp_path):
    pom = tmp_path / "api.pom"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><build><plugins><plugin><executions>'
        "<execution><configuration><arguments>"
        "<argument>-classpath</argument><argument>target/classes</argument>"
        f"<argument>{crds.STRIMZI_GENERATOR}</argument>"
        "<argument>--api-versions</argument><argument>v1beta2</argument>"
        "<argument>io.strimzi.api.kafka.model.kafka.Kafka=${project.basedir}${file.separator}..${file.separator}"
        "packaging${file.separator}040-Crd-kafka.yaml</argument>"
        "</arguments></configuration></execution>"
        "<execution><configuration><arguments><argument>DocGenerator</argument></arguments></configuration>"
        "</execution></executions></plugin></plugins></build></project>"
    )
    assert crds.generator_runs(pom, tmp_path / "out") == [
        [
            "--api-versions",
            "v1beta2",
            f"io.strimzi.api.kafka.model.kafka.Kafka={tmp_path / 'out/040-Crd-kafka.yaml'}",
        ]
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED_KINDS))
def test_each_fetched_set_holds_the_kinds_the_platform_uses(name):
    files = crds.crd_files(name)
    documents = [yaml.load(path.read_text(), Loader=yaml.CSafeLoader) for path in files]
    assert documents and all(d["kind"] == "CustomResourceDefinition" for d in documents)
    assert all("{{" not in path.read_text().split("spec:", 1)[0] for path in files)  # no placeholder left
    for group, kind, version in EXPECTED_KINDS[name]:
        schema = json.loads((crds.schema_dir(name) / group / f"{kind}_{version}.json").read_text())
        assert schema["additionalProperties"] is False and "spec" in schema["properties"], (kind, version)
    packed = []
    for chart in crds.chart_dirs(name):
        metadata = yaml.safe_load((chart / "Chart.yaml").read_text())
        assert metadata["appVersion"] == crds.OPERATORS[name].app_version and metadata["name"] == chart.name
        part = list((chart / "files").iterdir())
        assert len(part) == 1 or sum(p.stat().st_size for p in part) <= crds.CHART_BUDGET
        packed += [p.name for p in part]
    assert sorted(packed) == sorted(p.name for p in files)


def test_crds_too_large_for_one_release_are_cut_into_parts_in_order(tmp_path):
    files = []
    for name, size in (("a", 600), ("b", 500), ("c", 1200), ("d", 100)):
        files.append(tmp_path / name)
        files[-1].write_bytes(b"x" * size)

    def names(budget: int) -> list[list[str]]:
        return [[p.name for p in part] for part in crds.chart_parts(files, budget)]

    assert names(1000) == [["a"], ["b"], ["c"], ["d"]]  # c alone is over: it stands alone
    assert names(1100) == [["a", "b"], ["c"], ["d"]]
    assert names(crds.CHART_BUDGET) == [["a", "b", "c", "d"]]


def test_kubeconform_accepts_the_catalogs_kafka_topics_and_names_a_wrong_or_unknown_field(
    kubeconform, tmp_path
):
    topics = kafka_topics(namespace="data")
    accepted = conform(kubeconform, topics, tmp_path)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert f"Valid: {len(topics)}" in accepted.stdout

    wrong_type, unknown = json.loads(json.dumps(topics[:2]))
    wrong_type["spec"]["partitions"] = "many"
    unknown["spec"]["retentionDays"] = 7
    refused = conform(kubeconform, [wrong_type, unknown], tmp_path)
    assert refused.returncode == 1
    assert "/spec/partitions" in refused.stdout and "retentionDays" in refused.stdout
    assert "Invalid: 2" in refused.stdout
