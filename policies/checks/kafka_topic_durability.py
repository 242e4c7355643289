"""CKV_WH_3 / CKV_WH_4: Strimzi KafkaTopics survive a broker loss and do not keep data forever."""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class TopicSurvivesBrokerLoss(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="KafkaTopic has replicas >= 3 and 2 <= min.insync.replicas < replicas",
            id="CKV_WH_3",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_entities=["KafkaTopic"],
        )

    def scan_spec_conf(self, conf: dict) -> CheckResult:
        spec = conf.get("spec") or {}
        replicas = int(spec.get("replicas") or 1)
        min_isr = int((spec.get("config") or {}).get("min.insync.replicas") or 1)
        # min.insync == replicas would block acks=all producers as soon as one broker restarts.
        if replicas >= 3 and 2 <= min_isr < replicas:
            return CheckResult.PASSED
        self.details.append(f"replicas={replicas}, min.insync.replicas={min_isr}")
        return CheckResult.FAILED


class TopicHasBoundedRetention(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="KafkaTopic with cleanup.policy delete sets a finite retention.ms",
            id="CKV_WH_4",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_entities=["KafkaTopic"],
        )

    def scan_spec_conf(self, conf: dict) -> CheckResult:
        config = (conf.get("spec") or {}).get("config") or {}
        if "delete" not in str(config.get("cleanup.policy", "delete")):
            return CheckResult.PASSED
        retention = config.get("retention.ms")
        if retention is None or int(retention) < 0:
            self.details.append(f"retention.ms={retention!r}")
            return CheckResult.FAILED
        return CheckResult.PASSED


topic_replicas = TopicSurvivesBrokerLoss()
topic_retention = TopicHasBoundedRetention()
