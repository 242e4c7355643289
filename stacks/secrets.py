from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from app import services
from infra import vendor_secrets
from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack

from .kms import KmsStack


class SecretsStack(EnvironmentStack):
    """A Secrets Manager secret per vendor credential the connectors use, encrypted with the secrets key.
    Only the secrets: their values are an operator's to put (infra/vendor_secrets.py)."""

    layer = "secrets"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig, kms: KmsStack) -> None:
        super().__init__(scope, cfg)
        protect = cfg.features.deletion_protection
        self.secrets = {
            variable: SecretsmanagerSecret(
                self,
                variable.lower(),
                name=vendor_secrets.secret_name(cfg.name, variable),
                description=f"{variable} of the {cfg.name} connectors",
                kms_key_id=kms.secrets.arn,
                recovery_window_in_days=30 if protect else 0,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
            )
            for variable in services.vendor_credentials()
        }
