from __future__ import annotations

from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.vpc import Network


class NetworkStack(EnvironmentStack):
    """VPC, subnets across the configured AZs, NAT, flow logs."""

    layer = "network"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, cfg)
        self.network = Network(self, "network", cfg)
        self.private_subnet_ids = [subnet.id for subnet in self.network.private_subnets]
