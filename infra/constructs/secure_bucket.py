"""An S3 bucket: versioned, encrypted, private, TLS-only, access-logged, tiered by lifecycle rules."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from constructs import Construct

from app.sinks.lake_layout import Transition

from .iam import policy_document


@dataclass(frozen=True)
class AccessLogs:
    """Where a bucket's S3 server access logs go: `bucket`, under the prefix `<logged bucket>/`.

    `after` are resources the delivery needs first (the target's policy, when it is in the same stack).
    """

    bucket: str
    after: tuple = ()


class SecureBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        kms_key_arn: str | None,
        lifecycle_id: str,
        transitions: tuple[Transition, ...],
        noncurrent_days: int,
        force_destroy: bool,
        protect: bool,
        access_logs: AccessLogs | None,
        expiration_days: int | None = None,
        policy_statements: tuple[dict, ...] = (),
    ) -> None:
        """`kms_key_arn=None` encrypts with S3-managed keys (AES256); `protect` adds prevent_destroy.

        `access_logs=None` only for the bucket that receives access logs (logging it into itself would
        log its own log writes); `expiration_days` expires current objects; `policy_statements` are added
        to the TLS-only bucket policy.
        """
        super().__init__(scope, id)
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=name,
            force_destroy=force_destroy,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
        )
        bucket_id = self.bucket.id
        self.arn = self.bucket.arn
        self.name = name
        S3BucketVersioningA(
            self, "versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}
        )
        by_default = {"sse_algorithm": "AES256"}
        if kms_key_arn is not None:
            by_default = {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=by_default,
                    bucket_key_enabled=kms_key_arn is not None,
                )
            ],
        )
        public_access = S3BucketPublicAccessBlock(
            self,
            "public_access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self, "ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"}
        )
        # The construct id predates the extra statements; keeping it keeps deployed resources in place.
        self.policy = S3BucketPolicy(
            self,
            "tls_only",
            bucket=bucket_id,
            policy=policy_document(
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [self.arn, f"{self.arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                *policy_statements,
            ),
            depends_on=[public_access],
        )
        if access_logs is not None:
            S3BucketLoggingA(
                self,
                "access_logging",
                bucket=bucket_id,
                target_bucket=access_logs.bucket,
                target_prefix=f"{name}/",
                depends_on=list(access_logs.after) or None,
            )
        rule = S3BucketLifecycleConfigurationRule(
            id=lifecycle_id,
            status="Enabled",
            filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
            transition=[
                S3BucketLifecycleConfigurationRuleTransition(days=t.days, storage_class=t.storage_class)
                for t in transitions
            ]
            or None,
            expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=expiration_days)]
            if expiration_days
            else None,
            noncurrent_version_expiration=[
                S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=noncurrent_days)
            ],
            abort_incomplete_multipart_upload=[
                S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
            ],
        )
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=bucket_id, rule=[rule])
