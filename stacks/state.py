from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.ci_access import CiRoles
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.state_backend import StateBackend


class StateStack(EnvironmentStack):
    """The account's Terraform state bucket, lock table and state KMS key (every other stack's backend), and
    the roles GitHub Actions plans and deploys with."""

    layer = "state"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, cfg)
        backend = StateBackend(self, "state", cfg)
        TerraformOutput(self, "state_bucket", value=backend.bucket.name)
        TerraformOutput(self, "lock_table", value=backend.lock_table.name)
        if cfg.features.ci_access:
            CiRoles(
                self,
                "ci",
                cfg,
                state_bucket_arn=backend.bucket.arn,
                lock_table_arn=backend.lock_table.arn,
                state_key_arn=backend.key.arn,
            )
