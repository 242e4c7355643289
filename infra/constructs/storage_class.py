"""The cluster's default StorageClass: encrypted gp3 EBS volumes, bound where the pod lands, expandable."""

from __future__ import annotations

from cdktf_cdktf_provider_kubernetes.storage_class_v1 import StorageClassV1
from constructs import Construct

from infra.config import EnvironmentConfig

GP3_STORAGE_CLASS = "gp3-optimized"  # the Kafka JBOD volumes ask for it (docs/requirements.md#infrastructure)


class Gp3StorageClass(Construct):
    def __init__(self, scope: Construct, id: str, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        # default_tags do not reach volumes the CSI driver creates: tag them through the class.
        tag_parameters = {
            f"tagSpecification_{index}": f"{key}={value}"
            for index, (key, value) in enumerate(sorted(cfg.default_tags.items()), start=1)
        }
        self.storage_class = StorageClassV1(
            self,
            "gp3",
            metadata={
                "name": GP3_STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            storage_provisioner="ebs.csi.aws.com",
            reclaim_policy="Retain" if cfg.features.deletion_protection else "Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4", **tag_parameters},
        )
