from __future__ import annotations

from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.kms_key import USE_ACTIONS, PurposeKey
from infra.constructs.vpc import flow_log_group_name


def log_group_arn(cfg: EnvironmentConfig, name: str) -> str:
    return f"arn:aws:logs:{cfg.region}:{cfg.account_id}:log-group:{name}"


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
        self.secrets = PurposeKey(
            self,
            "secrets",
            cfg,
            purpose="secrets",
            description=f"Secrets Manager secrets of {cfg.name} (the vendors' API keys)",
            via_services=["secretsmanager"],
        )
        self.logs = PurposeKey(
            self,
            "logs",
            cfg,
            purpose="logs",
            description=f"CloudWatch log groups of {cfg.name} (VPC flow logs, EKS control plane)",
            via_services=[],
            service_statements=(
                {
                    "Sid": "CloudWatchLogsUse",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{cfg.region}.amazonaws.com"},
                    "Action": USE_ACTIONS,
                    "Resource": "*",
                    # Only for this environment's log groups (CloudWatch passes the group as context).
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": [
                                log_group_arn(cfg, flow_log_group_name(cfg)),
                                log_group_arn(cfg, cfg.control_plane_log_group),
                            ]
                        }
                    },
                },
            ),
        )
