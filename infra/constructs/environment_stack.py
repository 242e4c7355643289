"""Base of every stack: named `<env>-<layer>`, with its state backend and its environment's AWS provider."""

from __future__ import annotations

from typing import ClassVar

from cdktf import LocalBackend, S3Backend, TerraformStack
from constructs import Construct

from infra.config import EnvironmentConfig

from .providers import aws_provider
from .state_backend import lock_table_name, state_bucket_name, state_key_alias


class EnvironmentStack(TerraformStack):
    layer: ClassVar[str]  # one of stacks.app.LAYERS

    def __init__(self, scope: Construct, cfg: EnvironmentConfig) -> None:
        self.stack_name = f"{cfg.name}-{self.layer}"
        super().__init__(scope, self.stack_name)
        if cfg.emulator is not None and cfg.emulator.state_backend == "local":
            # Sibling stack directories share the output dir, so `../<stack>/` also resolves from the
            # consumers' directories when they read this state through terraform_remote_state.
            LocalBackend(self, path=f"../{self.stack_name}/terraform.tfstate")
        else:
            S3Backend(
                self,
                bucket=state_bucket_name(cfg),
                key=f"{self.stack_name}/terraform.tfstate",
                region=cfg.region,
                encrypt=True,
                kms_key_id=f"arn:aws:kms:{cfg.region}:{cfg.account_id}:{state_key_alias(cfg)}",
                dynamodb_table=lock_table_name(cfg),
                allowed_account_ids=[cfg.account_id],
            )
        aws_provider(self, cfg)
