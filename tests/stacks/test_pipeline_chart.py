"""charts/waardhaven-pipeline renders with each environment's values as the platform stack passes them
(the Go-built helm; role ARNs, known only at apply time, stand in as a fixed ARN)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.stacks.synth_helpers import ENVS, resource

pytestmark = pytest.mark.integration
CHART = "charts/waardhaven-pipeline"


@pytest.mark.parametrize("env", ENVS)
def test_chart_renders_service_accounts_with_irsa_roles_and_the_environment(synthesized, helm, env, tmp_path):
    release = resource(synthesized.stack(f"{env}-platform"), "helm_release", name="waardhaven-pipeline")
    values = []
    for index, text in enumerate(release["values"]):
        path = tmp_path / f"values-{index}.yaml"
        path.write_text(re.sub(r"\$\{[^}]*\}", "arn:aws:iam::123456789012:role/stand-in", text))
        values += ["-f", str(path)]
    subprocess.run([helm, "lint", CHART, *values], check=True, capture_output=True, text=True)
    rendered = subprocess.run(
        [helm, "template", "pipeline", CHART, *values], check=True, capture_output=True, text=True
    ).stdout
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    accounts = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ServiceAccount"}
    assert set(accounts) == {
        "flink-service-account",
        "spark-service-account",
        "connectors-service-account",
        "sinks-service-account",
        "secrets-service-account",
    }
    assert all(
        a["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        == "arn:aws:iam::123456789012:role/stand-in"
        for a in accounts.values()
    )
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert config["data"]["ENVIRONMENT"] == env
    assert config["data"]["LAKE_BUCKET_RAW_DATA"] == f"waardhaven-{env}-raw-data"
    assert config["data"]["LOG_LEVEL"] == yaml.safe_load(open(f"{CHART}/values-{env}.yaml"))["logLevel"]
