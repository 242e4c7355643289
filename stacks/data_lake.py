from __future__ import annotations

from constructs import Construct

from app.sinks import lake_layout
from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.secure_bucket import AccessLogs, SecureBucket
from infra.constructs.state_backend import access_log_bucket_name

from .kms import KmsStack


class DataLakeStack(EnvironmentStack):
    """The lake's buckets, tiers and encryption exactly as `app.sinks.lake_layout` describes them."""

    layer = "data-lake"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig, kms: KmsStack) -> None:
        super().__init__(scope, cfg)
        kms_keys = {lake_layout.ML_MODELS: kms.ml_models.arn, lake_layout.FLINK_STATE: kms.data_lake.arn}
        self.buckets = {
            layout: SecureBucket(
                self,
                layout.suffix,
                name=lake_layout.bucket_name(cfg.name, layout),
                kms_key_arn=kms_keys.get(layout),
                lifecycle_id=layout.lifecycle_id,
                transitions=layout.transitions,
                noncurrent_days=cfg.data_lake.noncurrent_version_expiration_days,
                force_destroy=cfg.data_lake.force_destroy,
                protect=cfg.features.deletion_protection,
                # The state stack, applied first, holds the access-log bucket.
                access_logs=AccessLogs(access_log_bucket_name(cfg)),
            )
            for layout in lake_layout.BUCKETS
        }
