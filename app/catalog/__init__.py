"""The topic catalog (topics.yaml beside this file): load, validate, and scale it to a cluster's size.

Everything that needs a topic's name, partitions, retention or compression reads it from here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.schemas import SCHEMAS
from app.yamlconfig import ConfigError, load_model, validate

CATALOG_PATH = Path(__file__).with_name("topics.yaml")

Compression = Literal["lz4", "gzip", "snappy", "zstd", "producer", "uncompressed"]
Cleanup = Literal["delete", "compact", "compact,delete"]
Kind = Literal["raw", "processed", "dead-letter"]

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")


def duration_ms(text: str) -> int:
    match = _DURATION.match(str(text))
    if not match or int(match[1]) == 0:
        raise ValueError(
            f"must be a positive duration like 7d, 1h, 30m, 500ms (units: {', '.join(_UNIT_MS)})"
        )
    return int(match[1]) * _UNIT_MS[match[2]]


def scaled_replication(replicas: int, min_insync_replicas: int, brokers: int) -> tuple[int, int]:
    """The one rule for smaller clusters: replicas capped at the broker count, and min.insync.replicas
    capped so that one replica may be down (never below 1). 3/2 on six brokers, 1/1 on one."""
    if brokers < 1:
        raise ValueError("a cluster has at least one broker")
    replicas = min(replicas, brokers)
    return replicas, min(min_insync_replicas, max(replicas - 1, 1))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    replicas: int = Field(3, ge=1)
    min_insync_replicas: int = Field(2, ge=1)
    cleanup: Cleanup = "delete"


class Topic(_Strict):
    name: str
    pipeline: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    kind: Kind
    schema_name: str | None = Field(None, alias="schema")
    partitions: int = Field(ge=1, le=1000)
    replicas: int = Field(ge=1)
    min_insync_replicas: int = Field(ge=1)
    retention: str
    segment: str | None = None
    compression: Compression
    cleanup: Cleanup

    @field_validator("retention", "segment")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_ms(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Topic:
        if self.min_insync_replicas > self.replicas:
            raise ValueError(
                f"min_insync_replicas {self.min_insync_replicas} exceeds replicas {self.replicas}"
            )
        if (self.kind == "dead-letter") == (self.schema_name is not None):
            raise ValueError("a dead-letter topic has no schema; every other topic names one")
        if self.schema_name is not None and self.schema_name not in SCHEMAS:
            raise ValueError(f"schema {self.schema_name!r} is not one of app.schemas ({', '.join(SCHEMAS)})")
        return self

    @property
    def retention_ms(self) -> int:
        return duration_ms(self.retention)

    @property
    def segment_ms(self) -> int | None:
        return duration_ms(self.segment) if self.segment else None

    def scaled(self, brokers: int) -> Topic:
        replicas, min_isr = scaled_replication(self.replicas, self.min_insync_replicas, brokers)
        return self.model_copy(update={"replicas": replicas, "min_insync_replicas": min_isr})

    def kafka_config(self) -> dict[str, str]:
        """Topic-level Kafka configs, as strings (AdminClient and Strimzi both take these)."""
        config = {
            "retention.ms": str(self.retention_ms),
            # Time alone bounds a topic: the brokers' default byte limit per partition (1 GiB) would cut
            # the 30-day and 1-year topics short.
            "retention.bytes": "-1",
            "compression.type": self.compression,
            "cleanup.policy": self.cleanup,
            "min.insync.replicas": str(self.min_insync_replicas),
        }
        if self.segment_ms is not None:
            config["segment.ms"] = str(self.segment_ms)
        return config


class _CatalogFile(_Strict):
    defaults: Defaults = Defaults()
    topics: dict[str, dict]


class Catalog:
    def __init__(self, topics: list[Topic], defaults: Defaults | None = None) -> None:
        self.topics = {topic.name: topic for topic in topics}
        self.defaults = defaults or Defaults()

    def __iter__(self):
        return iter(self.topics.values())

    def __getitem__(self, name: str) -> Topic:
        try:
            return self.topics[name]
        except KeyError:
            raise KeyError(f"topic {name!r} is not in the catalog ({', '.join(self.topics)})") from None

    @property
    def pipelines(self) -> list[str]:
        return sorted({topic.pipeline for topic in self})

    def dead_letter(self, pipeline: str) -> Topic:
        for topic in self:
            if topic.pipeline == pipeline and topic.kind == "dead-letter":
                return topic
        raise KeyError(
            f"pipeline {pipeline!r} has no dead-letter topic (pipelines: {', '.join(self.pipelines)})"
        )

    def scaled(self, brokers: int) -> Catalog:
        return Catalog([topic.scaled(brokers) for topic in self], self.defaults)

    def with_suffix(self, suffix: str) -> Catalog:
        """The same topics under suffixed names: isolates a test or a run on a shared broker."""
        return Catalog(
            [topic.model_copy(update={"name": topic.name + suffix}) for topic in self], self.defaults
        )


def load_catalog(path: Path | str = CATALOG_PATH) -> Catalog:
    raw = load_model(path, _CatalogFile)
    defaults = raw.defaults.model_dump()
    topics = []
    for name, entry in raw.topics.items():
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,248}", name):
            raise ConfigError(
                path, f"topics.{name}", "topic names use lowercase letters, digits, '.' and '-'"
            )
        try:
            topics.append(validate(path, {**defaults, **(entry or {}), "name": name}, Topic))
        except ConfigError as exc:
            raise ConfigError(path, f"topics.{name}.{exc.key}".rstrip("."), exc.problem) from None
    catalog = Catalog(topics, raw.defaults)
    for pipeline in catalog.pipelines:
        count = sum(1 for t in catalog if t.pipeline == pipeline and t.kind == "dead-letter")
        if count != 1:
            raise ConfigError(
                path, "topics", f"pipeline {pipeline!r} needs exactly one dead-letter topic, has {count}"
            )
    return catalog


@cache
def catalog() -> Catalog:
    """The project's catalog, loaded once."""
    return load_catalog()
