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
# Flink's defaults for taskmanager.memory.jvm-metaspace.size and taskmanager.memory.jvm-overhead.min.
JVM_METASPACE_MB = 256
JVM_OVERHEAD_MIN_MB = 192


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_below(field: str, floor: str, unit: str = ""):
    """A validator of `field`: at least the value of `floor` (a field declared before it)."""

    def check(cls, value, info: ValidationInfo):
        least = info.data.get(floor)
        if least is not None and value < least:
            raise ValueError(f"{field} ({value}{unit}) must be at least {floor} ({least}{unit})")
        return value

    return field_validator(field)(check)


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

    _max_not_below_initial = _not_below("max_delay", "initial_delay", "ms")


class State(_Model):
    backend: Literal["rocksdb", "hashmap"]
    incremental: bool
    # Where RocksDB keeps event-time timers; the hashmap backend's are always on the heap.
    timers: Literal["heap", "rocksdb"]

    @field_validator("timers")
    @classmethod
    def _rocksdb_timers_need_rocksdb(cls, timers: str, info: ValidationInfo):
        if timers == "rocksdb" and info.data.get("backend") != "rocksdb":
            raise ValueError(
                "timers: rocksdb needs backend: rocksdb (the hashmap backend keeps timers on the heap)"
            )
        return timers


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
    parallelism: int = Field(ge=1)


def _memory_mb(value: object) -> int:
    if isinstance(value, str) and (match := re.fullmatch(r"(\d+)(m|g)", value.strip())):
        return int(match[1]) * (1024 if match[2] == "g" else 1)
    raise ValueError(f"a size like 512m or 4g is required (got {value!r})")


MemoryMb = Annotated[int, BeforeValidator(_memory_mb), Field(gt=0)]


class _Pods(_Model):
    """A Flink process's pod: `memory` is Flink's process size and the pod's memory request and limit (a
    JVM sized to it uses all of it: a lower request lets the node overcommit into OOM kills); `cpu` is
    the request and `cpu_limit` the limit."""

    memory: MemoryMb
    cpu: float = Field(gt=0)
    cpu_limit: float = Field(gt=0)

    _limit_not_below_request = _not_below("cpu_limit", "cpu")


class JobManagerPods(_Pods):
    replicas: int = Field(ge=1)  # more than one: standbys, elected through Kubernetes HA


class TaskManagerPods(_Pods):
    flink_memory: MemoryMb  # heap + off-heap + network + managed; the rest is metaspace and JVM overhead
    slots: int = Field(ge=1)
    network_fraction: float = Field(gt=0, lt=1)
    managed_fraction: float = Field(gt=0, lt=1)

    @field_validator("flink_memory")
    @classmethod
    def _room_for_metaspace_and_overhead(cls, flink_memory: int, info: ValidationInfo):
        memory = info.data.get("memory")
        least = JVM_METASPACE_MB + JVM_OVERHEAD_MIN_MB
        if memory is not None and memory - flink_memory < least:
            raise ValueError(
                f"flink_memory ({flink_memory}m) must leave at least {least}m of memory ({memory}m) for the "
                f"JVM metaspace ({JVM_METASPACE_MB}m) and overhead (at least {JVM_OVERHEAD_MIN_MB}m)"
            )
        return flink_memory

    @property
    def jvm_overhead_mb(self) -> int:
        return self.memory - self.flink_memory - JVM_METASPACE_MB


class Autoscaler(_Model):
    """The Flink operator's job autoscaler (its `job.autoscaler.*` options): each vertex is rescaled to
    keep its busy time near `target_utilization`, up to its source topic's partitions."""

    enabled: bool
    target_utilization: float = Field(gt=0, le=1)
    utilization_boundary: float = Field(ge=0, lt=1)
    stabilization: DurationMs  # no new scaling this long after one
    metrics_window: DurationMs
    catch_up: DurationMs  # a backlog after a rescale must be worked off within this
    restart_time: DurationMs


class Cluster(_Model):
    """The FlinkDeployment's pods and autoscaler (the local mini-cluster has neither)."""

    job_manager: JobManagerPods
    task_manager: TaskManagerPods
    autoscaler: Autoscaler

    def flink_configuration(self) -> dict[str, str]:
        """The Flink keys that size the pods and drive the autoscaler (the operator sets each process size
        from its pod's memory)."""
        jm, tm, scaler = self.job_manager, self.task_manager, self.autoscaler
        return {
            "taskmanager.numberOfTaskSlots": str(tm.slots),
            "taskmanager.memory.flink.size": f"{tm.flink_memory}m",
            # With the process and Flink sizes both given, Flink derives the overhead and fails unless
            # its range holds it (the default range ends at 1g).
            "taskmanager.memory.jvm-overhead.max": f"{tm.jvm_overhead_mb}m",
            "taskmanager.memory.network.fraction": str(tm.network_fraction),
            "taskmanager.memory.managed.fraction": str(tm.managed_fraction),
            "kubernetes.jobmanager.cpu.limit-factor": str(jm.cpu_limit / jm.cpu),
            "kubernetes.taskmanager.cpu.limit-factor": str(tm.cpu_limit / tm.cpu),
            # The autoscaler rescales in place (no redeploy) under the adaptive scheduler.
            "jobmanager.scheduler": "adaptive",
            "job.autoscaler.enabled": str(scaler.enabled).lower(),
            "job.autoscaler.target.utilization": str(scaler.target_utilization),
            "job.autoscaler.target.utilization.boundary": str(scaler.utilization_boundary),
            "job.autoscaler.stabilization.interval": f"{scaler.stabilization}ms",
            "job.autoscaler.metrics.window": f"{scaler.metrics_window}ms",
            "job.autoscaler.catch-up.duration": f"{scaler.catch_up}ms",
            "job.autoscaler.restart.time": f"{scaler.restart_time}ms",
        }


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
    cluster: Cluster

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

    def with_state(self, **changes) -> JobSettings:
        """These settings on another state backend or timer store (a test's, a benchmark's), validated as a
        jobs.yaml state section is."""
        return self.model_copy(update={"state": State.model_validate(self.state.model_dump() | changes)})

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
            **(
                {"state.backend.rocksdb.timer-service.factory": self.state.timers.upper()}
                if self.state.backend == "rocksdb"
                else {}
            ),
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
