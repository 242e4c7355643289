from __future__ import annotations

from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.vpc import Network

from .kms import KmsStack


class NetworkStack(EnvironmentStack):
    """VPC, subnets across the configured AZs, NAT, a closed default security group, encrypted flow logs."""

    layer = "network"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig, kms: KmsStack) -> None:
        super().__init__(scope, cfg)
        self.network = Network(self, "network", cfg, logs_key_arn=kms.logs.arn)
        self.private_subnet_ids = [subnet.id for subnet in self.network.private_subnets]
