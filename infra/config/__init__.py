"""Environment configuration: one YAML file per environment in this directory, loaded into typed config.

    from infra.config import environment_names, load_environment
    cfg = load_environment("dev")  # EnvironmentConfig, or ConfigError naming file, key, allowed values

Adding an environment is adding `<name>.yaml` here. The shape is `infra.config.model`, the cross-key safety
rules `infra.config.policy`.
"""

from __future__ import annotations

from pathlib import Path

from app.yamlconfig import ConfigError, read_yaml, validate

from .model import EnvironmentConfig
from .policy import violations

CONFIG_DIR = Path(__file__).resolve().parent

__all__ = [
    "CONFIG_DIR",
    "ConfigError",
    "EnvironmentConfig",
    "environment_names",
    "load_environment",
    "load_file",
]


def environment_names(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(path.stem for path in config_dir.glob("*.yaml"))


def load_environment(name: str, config_dir: Path = CONFIG_DIR) -> EnvironmentConfig:
    path = config_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(environment_names(config_dir)) or "none"
        raise ConfigError(path, "", f"no such environment {name!r}; known environments: {known}")
    return load_file(path)


def load_file(path: Path) -> EnvironmentConfig:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "", f"must be a mapping of keys, got {type(data).__name__}")
    if "name" in data:
        raise ConfigError(path, "name", "is taken from the file name; remove the key")
    cfg = validate(path, {**data, "name": path.stem}, EnvironmentConfig)
    for key, problem in violations(cfg):
        raise ConfigError(path, key, problem)
    return cfg
