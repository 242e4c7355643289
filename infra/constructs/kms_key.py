"""A customer-managed KMS key for one purpose: rotation on, an alias, and a key policy scoped to its users."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from infra.config import EnvironmentConfig

from .iam import policy_document

USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]


def key_alias(cfg: EnvironmentConfig, purpose: str) -> str:
    return f"alias/waardhaven-{cfg.name}-{purpose}"


class PurposeKey(Construct):
    """KMS key `alias/waardhaven-<env>-<purpose>`.

    The account administers the key; principals of the account may use it only through `via_services`
    (e.g. S3 for bucket encryption), plus `grant_actions` for services that create grants (EKS);
    `service_statements` let a service principal use it directly (CloudWatch Logs has no via-service path).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        cfg: EnvironmentConfig,
        *,
        purpose: str,
        description: str,
        via_services: list[str],
        grant_actions: list[str] | None = None,
        service_statements: tuple[dict, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        protect = cfg.features.deletion_protection  # required in production (infra.config.policy)
        account_root = {"AWS": f"arn:aws:iam::{cfg.account_id}:root"}
        use_condition = {
            "StringEquals": {
                "kms:CallerAccount": cfg.account_id,
                "kms:ViaService": [f"{service}.{cfg.region}.amazonaws.com" for service in via_services],
            }
        }
        statements = [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": account_root,
                "Action": ADMIN_ACTIONS,
                "Resource": "*",
            },
        ]
        if via_services:
            statements.append(
                {
                    "Sid": "UseThroughServices",
                    "Effect": "Allow",
                    "Principal": account_root,
                    "Action": USE_ACTIONS,
                    "Resource": "*",
                    "Condition": use_condition,
                }
            )
        if grant_actions:
            statements.append(
                {
                    "Sid": "ServiceGrants",
                    "Effect": "Allow",
                    "Principal": account_root,
                    "Action": grant_actions,
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                }
            )
        statements.extend(service_statements)
        self.key = KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30 if protect else 7,
            policy=policy_document(*statements),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
        )
        self.alias = KmsAlias(self, "alias", name=key_alias(cfg, purpose), target_key_id=self.key.key_id)
        self.arn = self.key.arn
