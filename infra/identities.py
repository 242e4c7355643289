"""Identities: the Kubernetes namespace and service accounts IRSA roles trust, and GitHub Actions' CI roles.

The IRSA stack writes trust policies for these names and the platform chart creates the service accounts.
"""

from app import kafka_client

DATA_NAMESPACE = kafka_client.NAMESPACE
# Pod Security admission: every pod in it runs under the restricted standard (enforced, and warned and
# audited at the same level).
DATA_NAMESPACE_LABELS = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")
}
FLINK_SERVICE_ACCOUNT = "flink-service-account"  # as docs/requirements.md#infrastructure names it
SPARK_SERVICE_ACCOUNT = "spark-service-account"  # as docs/requirements.md#infrastructure names it
CONNECTORS_SERVICE_ACCOUNT = "connectors-service-account"
SINKS_SERVICE_ACCOUNT = "sinks-service-account"
# External Secrets' SecretStore reads the vendors' keys from AWS Secrets Manager as this one.
SECRETS_SERVICE_ACCOUNT = "secrets-service-account"

# GitHub Actions: the repository whose workflows may assume an environment's CI roles, and the roles' names.
GITHUB_REPOSITORY = "waardhaven/data-platform"
CI_PURPOSES = ("plan", "deploy")  # plan: read-only (plan review, drift); deploy: apply


def ci_role_name(env: str, purpose: str) -> str:
    if purpose not in CI_PURPOSES:
        raise ValueError(f"CI role purpose {purpose!r} is not one of {', '.join(CI_PURPOSES)}")
    return f"waardhaven-{env}-ci-{purpose}"


def ci_role_arn(account_id: str, env: str, purpose: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ci_role_name(env, purpose)}"
