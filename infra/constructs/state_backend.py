"""Per-account Terraform state: an encrypted, versioned, private bucket and a DynamoDB lock table.

The names are functions of the environment so every stack's S3 backend can point at them.
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable, DynamodbTableAttribute
from constructs import Construct

from infra.config import EnvironmentConfig

from .kms_key import PurposeKey, key_alias
from .secure_bucket import SecureBucket

STATE_PURPOSE = "state"


def state_bucket_name(cfg: EnvironmentConfig) -> str:
    return f"waardhaven-{cfg.name}-tfstate-{cfg.account_id}"


def lock_table_name(cfg: EnvironmentConfig) -> str:
    return f"waardhaven-{cfg.name}-tfstate-lock"


def state_key_alias(cfg: EnvironmentConfig) -> str:
    return key_alias(cfg, STATE_PURPOSE)


class StateBackend(Construct):
    def __init__(self, scope: Construct, id: str, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        protect = cfg.features.deletion_protection
        self.key = PurposeKey(
            self,
            "key",
            cfg,
            purpose=STATE_PURPOSE,
            description=f"Terraform state of {cfg.name}",
            via_services=["s3", "dynamodb"],
        )
        self.bucket = SecureBucket(
            self,
            "bucket",
            name=state_bucket_name(cfg),
            kms_key_arn=self.key.arn,
            lifecycle_id="state_versions",
            transitions=(),
            noncurrent_days=90,
            force_destroy=cfg.emulator is not None,  # only the emulator's throwaway state
            protect=protect,
        )
        self.lock_table = DynamodbTable(
            self,
            "lock_table",
            name=lock_table_name(cfg),
            billing_mode="PAY_PER_REQUEST",
            hash_key="LockID",
            attribute=[DynamodbTableAttribute(name="LockID", type="S")],
            server_side_encryption={"enabled": True, "kms_key_arn": self.key.arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=protect,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
        )
