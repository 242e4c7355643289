"""The connector configuration (sources.yaml beside this file): every source's adapter, topic, quota,
credentials and adapter options, validated on load with errors naming the file, key and allowed values."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.catalog import catalog, duration_ms
from app.connectors.mapping import time_zone
from app.connectors.ratelimit import CALENDAR_WINDOWS, parse_rate
from app.schemas import field_names
from app.yamlconfig import ConfigError, load_model, validate

SOURCES_PATH = Path(__file__).with_name("sources.yaml")

# adapter name -> "module:Class". A new protocol is one line here plus its module; a new vendor on an
# existing protocol is only a sources.yaml entry.
ADAPTERS = {
    "synthetic": "app.connectors.synthetic:SyntheticSource",
    "replay": "app.connectors.replay:ReplaySource",
    "rest": "app.connectors.rest:RestSource",
    "websocket": "app.connectors.websocket:WebSocketSource",
    "sse": "app.connectors.sse:SseSource",
    "polygon": "app.connectors.polygon:PolygonSource",
    "edgar_form4": "app.connectors.edgar:EdgarForm4Source",
}


class Auth(BaseModel):
    """A credential read from an environment variable, sent as a query parameter or a header. A vendor
    that refuses it with HTTP 401 stops the source (app/connectors/http.py CredentialRefused); `refused` is
    a regular expression of the vendor's error text for a vendor that says so otherwise (a 400, an error
    body in a 200)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    query: str | None = None
    header: str | None = None
    prefix: str = ""
    refused: str | None = None

    @field_validator("refused")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


class QuotaSettings(BaseModel):
    """How a daily/monthly rate_limit resets, and how long a source with a spent budget waits for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tz: str = "UTC"  # the zone of the vendor's documented reset (midnight, the 1st of the month)
    max_wait: str = "1d"  # a later reset stops the connector instead (the operator restarts it)

    _zone = field_validator("tz")(time_zone)

    @field_validator("max_wait")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_ms(value)
        return value


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    vendor: str | None = None  # who runs the API, as `wh connect --list` shows it
    retired: str | None = None  # the vendor shut the API down: when, and what this entry is still for
    adapter: str
    topic: str
    rate_limit: str | None = None
    quota: QuotaSettings | None = None
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

    @field_validator("quota")
    @classmethod
    def _calendar_only(cls, value: QuotaSettings | None, info: ValidationInfo) -> QuotaSettings | None:
        rate = info.data.get("rate_limit")
        if value is not None and (rate is None or parse_rate(rate)[1] not in CALENDAR_WINDOWS):
            per = " or ".join(CALENDAR_WINDOWS)
            raise ValueError(f"quota settings apply to a rate_limit per {per} (rate_limit: {rate})")
        return value

    def calendar_quota(self) -> tuple[str, QuotaSettings] | None:
        """The daily/monthly quota (rate and reset settings), if the vendor counts one."""
        if self.rate_limit is None or parse_rate(self.rate_limit)[1] not in CALENDAR_WINDOWS:
            return None
        return self.rate_limit, self.quota or QuotaSettings()

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
        _targets_in_schema(path, where, config, options)
        result[name] = (config, options)
    _one_quota_per_key(path, result)
    return result


def _targets_in_schema(path: Path | str, where: str, config: SourceConfig, options: BaseModel) -> None:
    """Every field a mapping writes is a field of the topic's record: a typo would otherwise be ignored
    (records carry only their schema's fields) and the value silently lost."""
    mapping = getattr(options, "mapping", None)
    if not mapping:
        return
    schema = catalog()[config.topic].schema_name
    allowed = field_names(schema)
    for target in mapping:
        if target not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(
                path,
                f"{where}.options.mapping.{target}",
                f"{config.topic} records ({schema}) have no field {target!r} (allowed: {known})",
            )


def _one_quota_per_key(path: Path | str, sources: dict) -> None:
    """Sources sharing a credential share its limits: the same rate (each source that declares one) and
    the same daily/monthly budget."""
    first_user: dict[str, str] = {}
    rated: dict[str, str] = {}
    for name, (config, _) in sources.items():
        if config.auth is None:
            continue
        key = config.auth.env
        other = first_user.setdefault(key, name)
        theirs, ours = sources[other][0].calendar_quota(), config.calendar_quota()
        if theirs != ours:
            raise ConfigError(
                path,
                f"sources.{name}.rate_limit",
                f"{name} and {other} share {key}, which has one daily/monthly quota: declare the"
                f" same rate_limit and quota in both (got {_shown(ours)} and {_shown(theirs)})",
            )
        if config.rate_limit is not None:
            first_rated = rated.setdefault(key, name)
            if sources[first_rated][0].rate_limit != config.rate_limit:
                raise ConfigError(
                    path,
                    f"sources.{name}.rate_limit",
                    f"{name} and {first_rated} share {key}, whose vendor counts one rate: declare the same"
                    f" rate_limit (got {config.rate_limit} and {sources[first_rated][0].rate_limit})",
                )


def _shown(quota: tuple[str, QuotaSettings] | None) -> str:
    return "none" if quota is None else f"{quota[0]} (tz {quota[1].tz}, max_wait {quota[1].max_wait})"


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
