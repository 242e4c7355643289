"""Start a job of this package on the local mini-cluster: `submit("market-data", ...)`."""

from __future__ import annotations

import sys
from pathlib import Path

from app.flink import market_data, news
from app.flink.config import JobSettings
from app.flink.runtime import latest_checkpoint, local_configuration, table_environment, udf_jar

JOBS = {"market-data": market_data, "news": news}


def submit(
    job: str,
    settings: JobSettings,
    bootstrap_servers: str,
    *,
    checkpoint_dir: Path,
    topic_suffix: str = "",
    restore: bool = True,
    overrides: dict[str, str] | None = None,
):
    """Submit `job`; returns its TableResult (`.wait()` blocks until the job ends).

    With `restore`, the job resumes from the newest checkpoint under `checkpoint_dir`, which is how a
    crashed local run picks up where it stopped (on Kubernetes the operator does this).
    """
    module = JOBS[job]
    restore_from = latest_checkpoint(checkpoint_dir) if restore else None
    if restore_from is not None:
        print(f"{job}: resuming from checkpoint {restore_from}", file=sys.stderr, flush=True)
    configuration = local_configuration(
        settings,
        checkpoint_dir=checkpoint_dir,
        restore_from=restore_from,
        overrides={**module.table_configuration(settings), **(overrides or {})},
    )
    tables = table_environment(settings, configuration)
    tables.get_config().set("pipeline.name", f"waardhaven-{job}")
    return module.build(tables, settings, bootstrap_servers, udf_jar().as_uri(), topic_suffix).execute()
