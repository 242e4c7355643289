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


def arn_pattern(cfg: EnvironmentConfig) -> str:
    """Every vendor secret of the environment (Secrets Manager appends a random suffix to each ARN)."""
    return f"arn:aws:secretsmanager:{cfg.region}:{cfg.account_id}:secret:{prefix(cfg.name)}*"
