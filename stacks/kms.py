from __future__ import annotations

from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.kms_key import PurposeKey


class KmsStack(EnvironmentStack):
    """One key per purpose. The state key lives in the state stack (it must exist before any S3 backend)."""

    layer = "kms"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, cfg)
        self.data_lake = PurposeKey(
            self,
            "data_lake",
            cfg,
            purpose="data-lake",
            description=f"Flink state in the {cfg.name} data lake",
            via_services=["s3"],
        )
        self.ml_models = PurposeKey(
            self,
            "ml_models",
            cfg,
            purpose="ml-models",
            description=f"ML models bucket of {cfg.name}",
            via_services=["s3"],
        )
        self.eks_secrets = PurposeKey(
            self,
            "eks_secrets",
            cfg,
            purpose="eks-secrets",
            description=f"Kubernetes secrets envelope encryption of {cfg.cluster_name}",
            via_services=["eks"],
            grant_actions=["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        )
