"""The daily batch's SparkSession, configured from spark.yaml.

In the cluster the Spark operator's spark-submit has already set the `cluster` settings (they are the
ScheduledSparkApplication's sparkConf); `session("cluster")` applies them again so a bare spark-submit runs
the same. `session("local", overrides)` adds the `local` profile for a laptop run.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from app.yamlconfig import load_model

SETTINGS = Path(__file__).with_name("spark.yaml")
APP_NAME = "daily-aggregation-job"
# The Spark the job is written for: pyproject's pyspark pin, the Spark of its image (images/spark).
SPARK_VERSION = version("pyspark")
Profile = Literal["cluster", "local"]


class SparkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: dict[str, str]
    local: dict[str, str]

    @field_validator("cluster", "local")
    @classmethod
    def _spark_keys(cls, conf: dict[str, str]) -> dict[str, str]:
        for key in conf:
            if not key.startswith("spark."):
                raise ValueError(f"{key!r} is not a Spark setting (they start with 'spark.')")
        return conf


def settings(profile: Profile, path: Path = SETTINGS) -> dict[str, str]:
    """The Spark settings of `profile` ("local" is the cluster's with the local overrides)."""
    loaded = load_model(path, SparkSettings)
    return {**loaded.cluster, **(loaded.local if profile == "local" else {})}


def session(profile: Profile, overrides: dict[str, str] | None = None):
    """This process's SparkSession with `profile`'s settings and `overrides` (created on first call)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(APP_NAME)
    for key, value in {**settings(profile), **(overrides or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
