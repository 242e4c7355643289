"""charts/waardhaven-pipeline renders with each environment's values as the platform stack passes them
(the Go-built helm; role ARNs, known only at apply time, stand in as a fixed ARN)."""

from __future__ import annotations

import pytest
import yaml

from tests.stacks.chart_helpers import STAND_IN_ARN, release_values, render
from tests.stacks.synth_helpers import ENVS

pytestmark = pytest.mark.integration
CHART = "waardhaven-pipeline"


@pytest.mark.parametrize("env", ENVS)
def test_chart_renders_service_accounts_with_irsa_roles_and_the_environment(synthesized, helm, env, tmp_path):
    documents = render(helm, CHART, release_values(synthesized, env, CHART, tmp_path))
    accounts = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ServiceAccount"}
    assert set(accounts) == {
        "flink-service-account",
        "spark-service-account",
        "connectors-service-account",
        "sinks-service-account",
        "secrets-service-account",
    }
    assert all(
        a["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == STAND_IN_ARN for a in accounts.values()
    )
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert config["data"]["ENVIRONMENT"] == env
    assert config["data"]["LAKE_BUCKET_RAW_DATA"] == f"waardhaven-{env}-raw-data"
    assert (
        config["data"]["LOG_LEVEL"] == yaml.safe_load(open(f"charts/{CHART}/values-{env}.yaml"))["logLevel"]
    )
