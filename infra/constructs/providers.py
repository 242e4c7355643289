"""Terraform providers of the stacks (their versions: infra.bootstrap.provider_versions)."""

from __future__ import annotations

from cdktf import Fn, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktf_cdktf_provider_aws.data_aws_eks_cluster_auth import DataAwsEksClusterAuth
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from cdktf_cdktf_provider_helm.provider import HelmProvider, HelmProviderExperiments
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider

from infra.config import EnvironmentConfig

# Every AWS service the stacks call, each pointed at the emulator in an emulated environment. The provider
# calls S3 Control (bucket tags) only when it knows the account, which it does not ask an emulator for
# (skip_requesting_account_id); listed so that no call of an emulated environment can reach AWS.
EMULATED_SERVICES = (
    "dynamodb", "ec2", "eks", "iam", "kms", "logs", "s3", "s3control", "secretsmanager", "sts"
)  # fmt: skip
_BINDING_NAMES = {"s3control": "s3_control"}  # the cdktf binding's keyword where it differs
ENDPOINT_VARIABLE = "aws_endpoint"
KUBECONFIG_VARIABLE = "kubeconfig"


def aws_provider(stack: TerraformStack, cfg: EnvironmentConfig) -> AwsProvider:
    common = {"region": cfg.region, "default_tags": [AwsProviderDefaultTags(tags=cfg.default_tags)]}
    if cfg.emulator is None:
        return AwsProvider(stack, "aws", allowed_account_ids=[cfg.account_id], **common)
    endpoint = TerraformVariable(
        stack,
        ENDPOINT_VARIABLE,
        type="string",
        default=cfg.emulator.default_endpoint,
        description="URL of the local AWS emulator (set TF_VAR_aws_endpoint to the moto server's address)",
    ).string_value
    return AwsProvider(
        stack,
        "aws",
        access_key="test",
        secret_key="test",
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check="true",
        s3_use_path_style=True,
        endpoints=[AwsProviderEndpoints(**{_BINDING_NAMES.get(s, s): endpoint for s in EMULATED_SERVICES})],
        **common,
    )


def eks_connection(stack: TerraformStack, cfg: EnvironmentConfig) -> dict:
    """Endpoint, CA and token of the environment's EKS cluster (looked up by name), for kubernetes/helm;
    in an environment on the local Kubernetes API, the kubeconfig its run writes (var.kubeconfig)."""
    if cfg.local_kubernetes:
        kubeconfig = TerraformVariable(
            stack,
            KUBECONFIG_VARIABLE,
            type="string",
            description="kubeconfig of the local Kubernetes API (TF_VAR_kubeconfig: `wh emulator` prints it)",
        )
        return {"config_path": kubeconfig.string_value}
    cluster = DataAwsEksCluster(stack, "cluster", name=cfg.cluster_name)
    auth = DataAwsEksClusterAuth(stack, "cluster_auth", name=cfg.cluster_name)
    return {
        "host": cluster.endpoint,
        "cluster_ca_certificate": Fn.base64decode(cluster.certificate_authority.get(0).data),
        "token": auth.token,
    }


def kubernetes_provider(stack: TerraformStack, connection: dict) -> KubernetesProvider:
    return KubernetesProvider(stack, "kubernetes", **connection)


def helm_provider(stack: TerraformStack, connection: dict, *, live_objects: bool = False) -> HelmProvider:
    """With `live_objects`, the provider's manifest experiment: each release's objects are kept in the state
    as they are live and planned with a server-side dry run, so a change made in the cluster to what a release
    set is drift that a plan puts back. The dry run needs the objects' namespaces to exist when the stack
    is planned: a release installing into a namespace created in the same apply would fail it."""
    experiments = HelmProviderExperiments(manifest=True) if live_objects else None
    return HelmProvider(stack, "helm", kubernetes=connection, experiments=experiments)
