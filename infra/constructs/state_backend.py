"""Per-account Terraform state: an encrypted, versioned, private bucket and a DynamoDB lock table.

Also the account's S3 access-log bucket: it must exist before any logged bucket, and this is the first stack.

The names are functions of the environment so every stack's S3 backend can point at them.
"""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable, DynamodbTableAttribute
from constructs import Construct

from infra.config import EnvironmentConfig

from .kms_key import PurposeKey, key_alias
from .secure_bucket import AccessLogs, SecureBucket

STATE_PURPOSE = "state"


def state_bucket_name(cfg: EnvironmentConfig) -> str:
    return f"waardhaven-{cfg.name}-tfstate-{cfg.account_id}"


def access_log_bucket_name(cfg: EnvironmentConfig) -> str:
    return f"waardhaven-{cfg.name}-access-logs-{cfg.account_id}"


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
        throwaway = cfg.emulator is not None  # only the emulator's buckets may be deleted with content
        log_bucket = access_log_bucket_name(cfg)
        self.access_logs = SecureBucket(
            self,
            "access_logs",
            name=log_bucket,
            # S3 delivers server access logs only into buckets encrypted with S3-managed keys.
            kms_key_arn=None,
            lifecycle_id="access_log_expiry",
            transitions=(),
            expiration_days=cfg.data_lake.access_log_retention_days,
            noncurrent_days=1,
            force_destroy=throwaway,
            protect=protect,
            access_logs=None,
            policy_statements=(
                {
                    "Sid": "S3ServerAccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{log_bucket}/*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": cfg.account_id}},
                },
            ),
        )
        self.bucket = SecureBucket(
            self,
            "bucket",
            name=state_bucket_name(cfg),
            kms_key_arn=self.key.arn,
            lifecycle_id="state_versions",
            transitions=(),
            noncurrent_days=90,
            force_destroy=throwaway,
            protect=protect,
            access_logs=AccessLogs(log_bucket, after=(self.access_logs.policy,)),
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
