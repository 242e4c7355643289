from __future__ import annotations

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_random_password import (
    DataAwsSecretsmanagerRandomPassword,
)
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from app import services
from infra import database, vendor_secrets
from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack

from .kms import KmsStack


class SecretsStack(EnvironmentStack):
    """A Secrets Manager secret per vendor credential the connectors use, encrypted with the secrets key;
    only the secrets: their values are an operator's to put (infra/vendor_secrets.py). And the database's
    application user, with a password Secrets Manager generates at the first deploy (infra/database.py)."""

    layer = "secrets"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig, kms: KmsStack) -> None:
        super().__init__(scope, cfg)
        protect = cfg.features.deletion_protection

        def secret(id: str, name: str, description: str) -> SecretsmanagerSecret:
            return SecretsmanagerSecret(
                self,
                id,
                name=name,
                description=description,
                kms_key_id=kms.secrets.arn,
                recovery_window_in_days=30 if protect else 0,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if protect else None,
            )

        self.secrets = {
            variable: secret(
                variable.lower(),
                vendor_secrets.secret_name(cfg.name, variable),
                f"{variable} of the {cfg.name} connectors",
            )
            for variable in services.vendor_credentials()
        }
        self.database = secret(
            "database",
            database.credentials_secret(cfg.name),
            f"the {cfg.name} database's application user",
        )
        # A password is drawn on every plan; only the first is stored: later ones, and an operator's
        # rotation (put-secret-value, then a rollout of the database), are left alone.
        password = DataAwsSecretsmanagerRandomPassword(
            self, "database_password", password_length=40, exclude_punctuation=True
        )
        SecretsmanagerSecretVersion(
            self,
            "database_credentials",
            secret_id=self.database.id,
            secret_string=Fn.jsonencode(
                {"username": database.DATABASE, "password": password.random_password}
            ),
            lifecycle=TerraformResourceLifecycle(ignore_changes=["secret_string"]),
        )
