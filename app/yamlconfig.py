"""Load a YAML file into a pydantic model; any problem fails with the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """Bad configuration: str() names the file, the key and the problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: {key or '<top level>'}: {problem}")


def key_path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def read_yaml(path: Path | str) -> object:
    """The parsed document; an unreadable file or bad YAML is a ConfigError naming the file."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, "", f"not valid YAML: {exc}") from exc


def load_model(path: Path | str, model: type[M]) -> M:
    return validate(path, read_yaml(path), model)


def validate(path: Path | str, data: object, model: type[M]) -> M:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        problem = first["msg"]
        if first["type"] != "missing" and "input" in first:
            problem = f"{problem} (got {first['input']!r})"
        raise ConfigError(path, key_path(first["loc"]), problem) from None
