"""The Flink jobs' settings (app/flink/jobs.yaml), validated on load, and their Flink configuration keys.

`settings(env)` merges the environment's overrides into `defaults`; a bad value fails naming the file,
the key and what is allowed. `flink_configuration()` is the one translation into Flink's own keys, used
by the local runtime and rendered into the FlinkDeployment values alike.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from app.yamlconfig import ConfigError, read_yaml, validate

JOBS_FILE = Path(__file__).with_name("jobs.yaml")
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def _duration_ms(value: object) -> int:
    if isinstance(value, str) and (match := re.fullmatch(r"(\d+)(ms|s|m|h)", value.strip())):
        return int(match[1]) * _UNITS_MS[match[2]]
    raise ValueError(f"a duration like 500ms, 30s, 10m or 1h is required (got {value!r})")


DurationMs = Annotated[int, BeforeValidator(_duration_ms), Field(gt=0)]
# How often sources emit watermarks (Flink's default `pipeline.auto-watermark-interval`, set explicitly).
WATERMARK_INTERVAL_MS = 200
# The name of the Prometheus metric reporter in the Flink configuration (charts/flink-jobs sets its factory).
METRIC_REPORTER = "prom"
# Kafka's default transaction.max.timeout.ms, which the brokers keep: a longer producer timeout is refused.
KAFKA_MAX_TRANSACTION_TIMEOUT_MS = 900_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Checkpoint(_Model):
    interval: DurationMs
    min_pause: DurationMs
    timeout: DurationMs
    max_concurrent: int = Field(ge=1)
    retention: Literal["retain-on-cancellation", "delete-on-cancellation", "no-external"]
    tolerable_failures: int = Field(ge=0)


class Restart(_Model):
    """Exponential-delay restarts without an attempt limit (Flink's default for this strategy)."""

    initial_delay: DurationMs
    max_delay: DurationMs
    multiplier: float = Field(gt=1)
    jitter: float = Field(ge=0, le=1)
    reset_after: DurationMs

    @field_validator("max_delay")
    @classmethod
    def _max_not_below_initial(cls, max_delay: int, info: ValidationInfo):
        initial = info.data.get("initial_delay")
        if initial is not None and max_delay < initial:
            raise ValueError(f"max_delay ({max_delay}ms) must be at least initial_delay ({initial}ms)")
        return max_delay


class State(_Model):
    backend: Literal["rocksdb", "hashmap"]
    incremental: bool


class WatermarkAlignment(_Model):
    max_drift: DurationMs
    update_interval: DurationMs


class MarketData(_Model):
    consumer_group: str = Field(min_length=1)
    out_of_orderness: DurationMs
    idle_partition_timeout: DurationMs
    watermark_alignment: WatermarkAlignment
    max_partition_fetch_bytes: int = Field(gt=0)
    max_message_bytes: int = Field(gt=0)

    @field_validator("watermark_alignment")
    @classmethod
    def _alignment_fits_idleness(cls, alignment: WatermarkAlignment, info: ValidationInfo):
        # Readers learn the slowest watermark an update interval after they report theirs, so a partition
        # ahead is paused up to an interval late: the one behind must not be declared idle by then.
        idle = info.data.get("idle_partition_timeout")
        if idle is not None and alignment.update_interval >= idle:
            raise ValueError(
                f"update_interval ({alignment.update_interval}ms) must be shorter than "
                f"idle_partition_timeout ({idle}ms)"
            )
        # The slowest watermark a reader knows is up to two update intervals and a watermark interval old:
        # a smaller drift pauses partitions of a live stream that are not ahead at all.
        least = 2 * alignment.update_interval + WATERMARK_INTERVAL_MS
        if alignment.max_drift < least:
            raise ValueError(
                f"max_drift ({alignment.max_drift}ms) must be at least 2 x update_interval + the "
                f"{WATERMARK_INTERVAL_MS}ms watermark interval ({least}ms)"
            )
        return alignment


class News(_Model):
    consumer_group: str = Field(min_length=1)
    max_message_bytes: int = Field(gt=0)


class JobSettings(_Model):
    pipeline_version: str = Field(min_length=1)
    parallelism: int = Field(ge=1)
    checkpoint: Checkpoint
    restart: Restart
    state: State
    max_downtime: DurationMs
    transaction_timeout: DurationMs
    market_data: MarketData
    news: News

    @field_validator("max_downtime")
    @classmethod
    def _downtime_covers_restart_delay(cls, downtime: int, info: ValidationInfo):
        restart = info.data.get("restart")
        if restart is not None and downtime < restart.max_delay:
            raise ValueError(
                f"max_downtime ({downtime}ms) must be at least restart.max_delay ({restart.max_delay}ms): "
                "a restart waits that long"
            )
        return downtime

    @field_validator("transaction_timeout")
    @classmethod
    def _transactions_outlive_checkpoints(cls, timeout: int, info: ValidationInfo):
        # A sink's transaction opens after one checkpoint and commits when the next completes (interval +
        # checkpoint timeout), or when the job is back after a failure (+ downtime); the broker aborts it at
        # its timeout, losing its records.
        checkpoint, downtime = info.data.get("checkpoint"), info.data.get("max_downtime")
        if checkpoint is not None and downtime is not None:
            least = checkpoint.interval + checkpoint.timeout + downtime
            if timeout <= least:
                raise ValueError(
                    f"transaction_timeout ({timeout}ms) must exceed checkpoint.interval + checkpoint.timeout"
                    f" + max_downtime ({checkpoint.interval} + {checkpoint.timeout} + {downtime} = {least}ms)"
                )
        if timeout > KAFKA_MAX_TRANSACTION_TIMEOUT_MS:
            raise ValueError(
                f"transaction_timeout ({timeout}ms) must be at most the broker's transaction.max.timeout.ms "
                f"({KAFKA_MAX_TRANSACTION_TIMEOUT_MS}ms)"
            )
        return timeout

    def flink_configuration(self) -> dict[str, str]:
        """Flink configuration keys shared by the local mini-cluster and the FlinkDeployment."""
        cp, restart = self.checkpoint, self.restart
        retention = {
            "retain-on-cancellation": "RETAIN_ON_CANCELLATION",
            "delete-on-cancellation": "DELETE_ON_CANCELLATION",
            "no-external": "NO_EXTERNALIZED_CHECKPOINTS",
        }[cp.retention]
        return {
            "parallelism.default": str(self.parallelism),
            "execution.checkpointing.mode": "EXACTLY_ONCE",
            "execution.checkpointing.interval": f"{cp.interval}ms",
            "execution.checkpointing.min-pause": f"{cp.min_pause}ms",
            "execution.checkpointing.timeout": f"{cp.timeout}ms",
            "execution.checkpointing.max-concurrent-checkpoints": str(cp.max_concurrent),
            "execution.checkpointing.externalized-checkpoint-retention": retention,
            "execution.checkpointing.tolerable-failed-checkpoints": str(cp.tolerable_failures),
            # No attempts-before-reset-backoff: Flink's default for it is unlimited.
            "restart-strategy.type": "exponential-delay",
            "restart-strategy.exponential-delay.initial-backoff": f"{restart.initial_delay}ms",
            "restart-strategy.exponential-delay.max-backoff": f"{restart.max_delay}ms",
            "restart-strategy.exponential-delay.backoff-multiplier": str(restart.multiplier),
            "restart-strategy.exponential-delay.jitter-factor": str(restart.jitter),
            "restart-strategy.exponential-delay.reset-backoff-threshold": f"{restart.reset_after}ms",
            "state.backend.type": self.state.backend,
            "state.backend.incremental": str(self.state.incremental).lower(),
            "pipeline.auto-watermark-interval": f"{WATERMARK_INTERVAL_MS}ms",
            # The jobs' operators never mutate their input and keep only rows they own (SymbolIndicators
            # keeps rows fresh from the network, copies others): chained operators need not copy records.
            "pipeline.object-reuse": "true",
            # The Prometheus reporter (`prom`: set up by the FlinkDeployment, locally by app/local/flink.py)
            # would rewrite label values to [a-zA-Z0-9:_]: job_name="waardhaven-market-data" and le="0.5"
            # must reach the recording rules of app/monitoring/flink.py as they are.
            f"metrics.reporter.{METRIC_REPORTER}.filterLabelValueCharacters": "false",
        }


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return merged


@cache
def _document(path: Path) -> dict:
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("defaults"), dict):
        raise ConfigError(path, "defaults", "a mapping of settings is required")
    if not isinstance(data.get("environments"), dict):
        raise ConfigError(path, "environments", "a mapping of environment name to overrides is required")
    return data


def environments(path: Path = JOBS_FILE) -> list[str]:
    return sorted(_document(path)["environments"])


def settings(env: str = "local", path: Path = JOBS_FILE) -> JobSettings:
    data = _document(path)
    if env not in data["environments"]:
        raise ConfigError(
            path, "environments", f"no environment {env!r}; known: {', '.join(environments(path))}"
        )
    overrides = data["environments"][env] or {}
    if not isinstance(overrides, dict):
        raise ConfigError(path, f"environments.{env}", "a mapping of overrides is required")
    try:
        return validate(path, _merge(data["defaults"], overrides), JobSettings)
    except ConfigError as exc:
        # Name where the bad value came from: the environment's override or the defaults.
        head = exc.key.split(".")
        node = overrides
        for part in head:
            node = node.get(part) if isinstance(node, dict) else None
        prefix = f"environments.{env}" if node is not None else "defaults"
        raise ConfigError(path, f"{prefix}.{exc.key}", exc.problem) from None
