"""Render charts/flink-jobs/values-<env>.yaml from app/flink/jobs.yaml, so the FlinkDeployment runs with the
checkpoint, restart and state settings the local runtime uses, on the pods and autoscaler of its `cluster`
section: `python -m app.flink.chart_values`."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from app.catalog import catalog
from app.flink import config
from app.flink.jobs import JOBS
from app.yamlconfig import ConfigError

CHART = Path(__file__).resolve().parents[2] / "charts" / "flink-jobs"
HEADER = "# Generated from app/flink/jobs.yaml by `python -m app.flink.chart_values`; do not edit.\n"


def values_path(env: str) -> Path:
    return CHART / f"values-{env}.yaml"


def _job(name: str, settings: config.JobSettings, env: str, path: Path) -> dict:
    """One job's parallelism, and the autoscaler's bound: a subtask per partition of its source topic."""
    module = JOBS[name]
    partitions = catalog()[module.RAW_TOPIC].partitions
    parallelism = module.parallelism(settings)
    if parallelism > partitions:
        key = "parallelism" if name == "market-data" else "news.parallelism"
        raise ConfigError(
            path,
            f"environments.{env}.{key}",
            f"{parallelism} is more than the {partitions} partitions of {module.RAW_TOPIC}: subtasks beyond "
            "them read nothing",
        )
    return {
        "parallelism": parallelism,
        "flinkConfiguration": {"job.autoscaler.vertex.max-parallelism": str(partitions)},
    }


def render(env: str, path: Path = config.JOBS_FILE) -> str:
    settings = config.settings(env, path)
    pods = settings.cluster
    values = {
        "environment": env,
        "flinkConfiguration": settings.flink_configuration() | pods.flink_configuration(),
        "jobManager": {
            "replicas": pods.job_manager.replicas,
            "memory": f"{pods.job_manager.memory}m",
            "cpu": pods.job_manager.cpu,
        },
        "taskManager": {"memory": f"{pods.task_manager.memory}m", "cpu": pods.task_manager.cpu},
        "jobs": {name: _job(name, settings, env, path) for name in JOBS},
    }
    return HEADER + yaml.safe_dump(values, sort_keys=True)


def main() -> int:
    for env in config.environments():
        values_path(env).write_text(render(env))
        print(f"wrote {values_path(env).relative_to(CHART.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
