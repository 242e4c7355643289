"""charts/waardhaven-database as the platform stack installs it: TimescaleDB on CloudNativePG sized per
environment on the gp3 class, backed up to the environment's backup prefix with its IRSA role, and the
migrations run by a Helm hook Job as the application user (from Secrets Manager), over verified TLS.
(kubeconform of its custom resources: test_platform_charts.)"""

from __future__ import annotations

import json

import pytest
import yaml

from infra import database
from tests.stacks.chart_helpers import RESTRICTED, STAND_IN_ARN, release_values, render
from tests.stacks.synth_helpers import ENVS, resource, resources

pytestmark = pytest.mark.integration
CHART = "waardhaven-database"


def _rendered(synthesized, helm, env, tmp_path) -> dict[str, list[dict]]:
    by_kind: dict[str, list[dict]] = {}
    for doc in render(helm, CHART, release_values(synthesized, env, CHART, tmp_path)):
        by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


@pytest.mark.parametrize("env", ENVS)
def test_the_cluster_runs_timescaledb_sized_per_environment_and_backs_up_to_its_prefix(
    synthesized, helm, env, tmp_path
):
    sizes = yaml.safe_load(open(f"charts/{CHART}/values-{env}.yaml"))
    rendered = _rendered(synthesized, helm, env, tmp_path)
    (cluster,) = rendered["Cluster"]
    spec = cluster["spec"]
    assert cluster["metadata"]["name"] == database.CLUSTER
    assert spec["imageName"].startswith("ghcr.io/clevyr/cloudnativepg-timescale@sha256:")
    assert spec["postgresql"]["shared_preload_libraries"] == ["timescaledb"]
    initdb = spec["bootstrap"]["initdb"]
    assert (initdb["database"], initdb["owner"]) == (database.DATABASE, database.DATABASE)
    assert initdb["postInitApplicationSQL"] == ["CREATE EXTENSION IF NOT EXISTS timescaledb"]
    assert spec["instances"] == sizes["instances"]
    assert spec["storage"] == {"storageClass": "gp3-optimized", "size": f"{sizes['storageGi']}Gi"}
    assert spec["walStorage"] == {"storageClass": "gp3-optimized", "size": f"{sizes['walStorageGi']}Gi"}
    annotations = spec["serviceAccountTemplate"]["metadata"]["annotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": STAND_IN_ARN}
    store = spec["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == f"s3://waardhaven-{env}-processed-data/database-backups/"
    assert store["s3Credentials"] == {"inheritFromIAMRole": True}
    assert spec["backup"]["retentionPolicy"] == "30d"
    (scheduled,) = rendered["ScheduledBackup"]
    assert scheduled["spec"]["cluster"] == {"name": database.CLUSTER}
    assert scheduled["spec"]["method"] == "barmanObjectStore"
    (monitor,) = rendered["PodMonitor"]
    assert monitor["spec"]["selector"] == {"matchLabels": {"cnpg.io/cluster": database.CLUSTER}}


def test_prod_runs_three_instances_on_two_terabytes(synthesized, helm, tmp_path):
    (cluster,) = _rendered(synthesized, helm, "prod", tmp_path)["Cluster"]
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["storage"]["size"] == "2000Gi"
    assert cluster["spec"]["resources"] == {
        "requests": {"cpu": "4", "memory": "16Gi"},
        "limits": {"cpu": "8", "memory": "32Gi"},
    }


@pytest.mark.parametrize("env", ["local", "prod"])
def test_migrations_run_after_install_and_upgrade_as_the_app_user_over_verified_tls(
    synthesized, helm, env, tmp_path
):
    rendered = _rendered(synthesized, helm, env, tmp_path)
    (job,) = rendered["Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"][database.CLIENT_POD_LABEL] == "true"
    (container,) = pod["spec"]["containers"]
    assert container["image"].startswith("waardhaven/python-services@sha256:")
    assert container["args"] == ["migrate"]
    assert container["securityContext"] == RESTRICTED
    env_vars = {e["name"]: e for e in container["env"]}
    ca = "/etc/waardhaven/database/ca.crt"
    assert env_vars["WH_DATABASE_DSN"]["value"] == database.dsn("data-processing", ca)
    assert "sslmode=verify-full" in env_vars["WH_DATABASE_DSN"]["value"]
    for variable, key in (("PGUSER", "username"), ("PGPASSWORD", "password")):
        assert env_vars[variable]["valueFrom"] == {"secretKeyRef": {"name": database.APP_SECRET, "key": key}}
    (volume,) = pod["spec"]["volumes"]
    assert volume["secret"]["secretName"] == database.CA_SECRET
    (mount,) = container["volumeMounts"]
    assert f"{mount['mountPath']}/ca.crt" == ca
    (test,) = rendered["Pod"]
    assert test["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test["spec"]["containers"][0]["args"] == ["migrate"]


def test_the_application_users_credentials_come_from_secrets_manager(synthesized, helm, tmp_path):
    """The secrets stack generates them once (KMS-encrypted); External Secrets copies them into the Secret
    CloudNativePG creates the user from, reading as the secrets service account, whose role may."""
    rendered = _rendered(synthesized, helm, "prod", tmp_path)
    (cluster,) = rendered["Cluster"]
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"] == {"name": database.APP_SECRET}
    (store,) = rendered["SecretStore"]
    jwt = store["spec"]["provider"]["aws"]["auth"]["jwt"]
    assert jwt == {"serviceAccountRef": {"name": "secrets-service-account"}}
    (external,) = rendered["ExternalSecret"]
    assert external["spec"]["target"]["name"] == database.APP_SECRET
    assert external["spec"]["target"]["template"] == {"type": "kubernetes.io/basic-auth"}
    key = database.credentials_secret("prod")
    assert external["spec"]["data"] == [
        {"secretKey": field, "remoteRef": {"key": key, "property": field}}
        for field in ("username", "password")
    ]
    secrets = synthesized.stack("prod-secrets")
    secret = resource(secrets, "aws_secretsmanager_secret", name=key)
    assert "secrets_key" in secret["kms_key_id"] and secret["lifecycle"]["prevent_destroy"] is True
    (version,) = resources(secrets, "aws_secretsmanager_secret_version").values()
    (generated,) = secrets["data"]["aws_secretsmanager_random_password"]
    assert version["secret_string"] == (
        f'${{jsonencode({{"username" = "{database.DATABASE}", "password" = '
        f"data.aws_secretsmanager_random_password.{generated}.random_password}})}}"
    )
    assert version["lifecycle"]["ignore_changes"] == ["secret_string"]  # an operator's rotation stays
    (policy,) = [
        json.loads(p["policy"])
        for logical_id, p in resources(synthesized.stack("prod-irsa"), "aws_iam_role_policy").items()
        if logical_id.startswith("secrets_policy")
    ]
    (read, _) = policy["Statement"]
    assert any(arn.endswith(f":secret:{key}-*") for arn in read["Resource"])
