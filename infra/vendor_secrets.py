"""The vendors' API keys in AWS Secrets Manager: one secret per credential variable the connectors read
(app/services.py), named here for the secrets stack that creates them, the IRSA role that may read them and
the ExternalSecrets that copy them into the connectors' Secrets. Their values are put in by an operator
(`aws secretsmanager put-secret-value`), never by code or configuration."""

from __future__ import annotations

from infra.config import EnvironmentConfig


def prefix(env: str) -> str:
    return f"waardhaven/{env}/vendors/"


def secret_name(env: str, variable: str) -> str:
    return prefix(env) + variable


def arn_pattern(cfg: EnvironmentConfig, name_prefix: str | None = None) -> str:
    """Every secret of the environment whose name starts with `name_prefix` (default: the vendor secrets'),
    whatever random suffix Secrets Manager appends to its ARN."""
    return f"arn:aws:secretsmanager:{cfg.region}:{cfg.account_id}:secret:{name_prefix or prefix(cfg.name)}*"
