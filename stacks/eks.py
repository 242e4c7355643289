from __future__ import annotations

from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.eks_cluster import Cluster
from infra.constructs.environment_stack import EnvironmentStack

from .kms import KmsStack
from .network import NetworkStack


class EksStack(EnvironmentStack):
    """The EKS cluster, node groups, OIDC provider and EBS CSI add-on (AWS API only, no Kubernetes API)."""

    layer = "eks"

    def __init__(
        self, scope: Construct, cfg: EnvironmentConfig, network: NetworkStack, kms: KmsStack
    ) -> None:
        super().__init__(scope, cfg)
        self.cluster = Cluster(
            self,
            "eks",
            cfg,
            subnet_ids=network.private_subnet_ids,
            secrets_key_arn=kms.eks_secrets.arn,
            logs_key_arn=kms.logs.arn,
        )
