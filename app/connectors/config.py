"""The connector configuration (sources.yaml beside this file): every source's adapter, topic, quota,
credentials and adapter options, validated on load with errors naming the file, key and allowed values."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.catalog import catalog
from app.connectors.ratelimit import parse_rate
from app.yamlconfig import ConfigError, load_model, validate

SOURCES_PATH = Path(__file__).with_name("sources.yaml")

# adapter name -> "module:Class". A new protocol is one line here plus its module; a new vendor on an
# existing protocol is only a sources.yaml entry.
ADAPTERS = {
    "synthetic": "app.connectors.synthetic:SyntheticSource",
    "replay": "app.connectors.replay:ReplaySource",
    "rest": "app.connectors.rest:RestSource",
    "websocket": "app.connectors.websocket:WebSocketSource",
    "polygon": "app.connectors.polygon:PolygonSource",
    "edgar_form4": "app.connectors.edgar:EdgarForm4Source",
}


class Auth(BaseModel):
    """A credential read from an environment variable, sent as a query parameter or a header."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    query: str | None = None
    header: str | None = None
    prefix: str = ""


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    adapter: str
    topic: str
    rate_limit: str | None = None
    auth: Auth | None = None
    options: dict = {}

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str) -> str:
        if value not in ADAPTERS:
            raise ValueError(f"unknown adapter {value!r} (allowed: {', '.join(ADAPTERS)})")
        return value

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        topics = [t.name for t in catalog() if t.kind == "raw"]
        if value not in topics:
            raise ValueError(
                f"topic {value!r} is not a raw topic of the catalog (allowed: {', '.join(topics)})"
            )
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    def source_class(self):
        module, _, cls = ADAPTERS[self.adapter].partition(":")
        return getattr(importlib.import_module(module), cls)


class _SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: dict[str, dict]


def load_sources(path: Path | str = SOURCES_PATH) -> dict[str, tuple[SourceConfig, BaseModel]]:
    """name -> (config, the adapter's validated options)."""
    raw = load_model(path, _SourcesFile)
    result = {}
    for name, entry in raw.sources.items():
        where = f"sources.{name}"
        try:
            config = validate(path, {**(entry or {}), "name": name}, SourceConfig)
        except ConfigError as exc:
            raise ConfigError(path, f"{where}.{exc.key}".rstrip("."), exc.problem) from None
        try:
            options = validate(path, config.options, config.source_class().Options)
        except ConfigError as exc:
            raise ConfigError(path, f"{where}.options.{exc.key}".rstrip("."), exc.problem) from None
        result[name] = (config, options)
    return result


class MissingCredential(RuntimeError):
    pass


def credential(auth: Auth | None, source: str) -> str | None:
    """The secret from the environment; its value is never formatted into a message or a log line."""
    if auth is None:
        return None
    value = os.environ.get(auth.env)
    if not value:
        raise MissingCredential(f"source {source!r} needs its credential in environment variable {auth.env}")
    return value
