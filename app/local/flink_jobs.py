"""Start a stream job on the local mini-cluster: its table environment from the job settings, resuming
from its newest checkpoint: `submit("market-data", ...)`.

The same Flink keys (`JobSettings.flink_configuration`) go into the FlinkDeployment; only the paths
(checkpoint storage, jars) differ between the laptop and the cluster (app/flink/cluster.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.flink.config import JobSettings
from app.flink.jobs import JOBS, job_name
from app.local import flink as local_flink
from app.local.toolchain import toolchain
from infra.bootstrap import flink_udfs


def udf_jar() -> Path:
    """The compiled JVM functions (built by `python3 -m infra.bootstrap flink-udfs`)."""
    return toolchain(flink_udfs.ensure)


def local_configuration(
    settings: JobSettings,
    *,
    checkpoint_dir: Path,
    restore_from: Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, str]:
    config = {
        **settings.flink_configuration(),
        "state.checkpoints.dir": checkpoint_dir.resolve().as_uri(),
        # RocksDB writes its own LOG files; by default into PyFlink's log dir inside the venv.
        "state.backend.rocksdb.log.dir": str((checkpoint_dir / "rocksdb-logs").resolve()),
    }
    if restore_from is not None:
        config["execution.savepoint.path"] = restore_from.resolve().as_uri()
    return {**config, **(overrides or {})}


def _stream_environment(configuration: dict[str, str]):
    """A local StreamExecutionEnvironment whose user class loader sees the UDF jar.

    Flink compiles the SQL operators once more while building the job graph, with the environment's own
    class loader; PyFlink's default is the gateway's system loader, which has no user jars.
    """
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.java_gateway import get_gateway

    local_flink.stream_environment(1)  # starts the gateway JVM the project's way (heap, JAVA_HOME)
    jvm = get_gateway().jvm
    config = Configuration()
    for key, value in {
        "execution.target": "local",
        "execution.attached": "true",
        **local_flink.local_configuration(extra=configuration),
    }.items():
        config.set_string(key, value)
    urls = get_gateway().new_array(jvm.java.net.URL, 1)
    urls[0] = jvm.java.net.URL(udf_jar().as_uri())
    loader = jvm.java.net.URLClassLoader(urls, jvm.Thread.currentThread().getContextClassLoader())
    j_env = jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment(
        config._j_configuration, loader
    )
    return StreamExecutionEnvironment(j_env)


def table_environment(settings: JobSettings, configuration: dict[str, str], parallelism: int | None = None):
    """A job's table environment at `parallelism` (the settings' default: the market-data job's)."""
    parallelism = parallelism or settings.parallelism
    env = _stream_environment(configuration)
    env.set_parallelism(parallelism)
    return local_flink.table_environment(env, parallelism, configuration)


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest completed checkpoint under `checkpoint_dir` (any job id), to restore a restarted job."""
    done = [meta.parent for meta in checkpoint_dir.glob("*/chk-*/_metadata")]
    return max(done, key=lambda path: path.stat().st_mtime, default=None)


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
    tables = table_environment(settings, configuration, module.parallelism(settings))
    tables.get_config().set("pipeline.name", job_name(job))
    return module.build(tables, settings, bootstrap_servers, udf_jar().as_uri(), topic_suffix).execute()
