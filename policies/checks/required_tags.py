"""CKV_WH_1: the AWS provider tags every resource with the four tags cost reports and access reviews use."""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.provider.base_check import BaseProviderCheck

REQUIRED_TAGS = ("environment", "owner", "cost-center", "data-classification")


def _first(value):
    """Checkov wraps block values in lists; unwrap one level."""
    return value[0] if isinstance(value, list) and value else value


class RequiredDefaultTags(BaseProviderCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"AWS provider default_tags carry {', '.join(REQUIRED_TAGS)}",
            id="CKV_WH_1",
            categories=[CheckCategories.CONVENTION],
            supported_provider=["aws"],
        )

    def scan_provider_conf(self, conf: dict) -> CheckResult:
        tags = (
            _first(_first(conf.get("default_tags")) or {}).get("tags") if conf.get("default_tags") else None
        )
        tags = _first(tags) or {}
        missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
        if missing:
            self.details.append(f"missing default tags: {', '.join(missing)}")
            return CheckResult.FAILED
        return CheckResult.PASSED


check = RequiredDefaultTags()
