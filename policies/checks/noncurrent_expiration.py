"""CKV_WH_2: every lifecycle rule expires noncurrent versions, or versioned buckets grow without bound."""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class NoncurrentVersionExpiration(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="S3 lifecycle rules expire noncurrent object versions",
            id="CKV_WH_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_s3_bucket_lifecycle_configuration"],
        )

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        rules = conf.get("rule") or []
        without = [
            (rule.get("id") or ["?"])[0] if isinstance(rule.get("id"), list) else rule.get("id", "?")
            for rule in rules
            if not rule.get("noncurrent_version_expiration")
        ]
        if not rules or without:
            self.details.append(
                f"rules without noncurrent_version_expiration: {without or 'no rules at all'}"
            )
            return CheckResult.FAILED
        return CheckResult.PASSED


check = NoncurrentVersionExpiration()
