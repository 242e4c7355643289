"""Render charts/flink-jobs/values-<env>.yaml from app/flink/jobs.yaml, so the FlinkDeployment runs with the
checkpoint, restart and state settings the local runtime uses: `python -m app.flink.chart_values`."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from app.flink import config

CHART = Path(__file__).resolve().parents[2] / "charts" / "flink-jobs"
HEADER = "# Generated from app/flink/jobs.yaml by `python -m app.flink.chart_values`; do not edit.\n"


def values_path(env: str) -> Path:
    return CHART / f"values-{env}.yaml"


def render(env: str) -> str:
    settings = config.settings(env)
    values = {
        "environment": env,
        "parallelism": settings.parallelism,
        "flinkConfiguration": settings.flink_configuration(),
    }
    return HEADER + yaml.safe_dump(values, sort_keys=True)


def main() -> int:
    for env in config.environments():
        values_path(env).write_text(render(env))
        print(f"wrote {values_path(env).relative_to(CHART.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
