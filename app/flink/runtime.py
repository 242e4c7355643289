"""One way to start a job: its table environment from the job settings, on the local mini-cluster.

The same Flink keys (`JobSettings.flink_configuration`) go into the FlinkDeployment; only the paths
(checkpoint storage, jars) differ between the laptop and the cluster.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from app.flink.config import JobSettings
from app.local import flink as local_flink
from app.local.process import toolchain
from infra.bootstrap import flink_udfs

SQL_DIR = Path(__file__).with_name("sql")


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


def table_environment(settings: JobSettings, configuration: dict[str, str]):
    env = _stream_environment(configuration)
    env.set_parallelism(settings.parallelism)
    return local_flink.table_environment(env, settings.parallelism, configuration)


# The tables every job's script may use, defined before it.
SHARED_SCRIPTS = ("dead_letters.sql",)


def statements(script: str, values: dict[str, object]) -> tuple[list[str], list[str]]:
    """(DDL/view statements, INSERT statements) of a job's SQL script under app/flink/sql, after the shared
    scripts', with ${name} values."""
    text = "\n".join(
        line
        for name in (*SHARED_SCRIPTS, script)
        for line in (SQL_DIR / name).read_text().splitlines()
        if not line.lstrip().startswith("--")
    )
    body = Template(text).substitute({k: str(v) for k, v in values.items()})
    parts = [part.strip() for part in body.split(";") if part.strip()]
    inserts = [p for p in parts if p.upper().startswith("INSERT")]
    return [p for p in parts if not p.upper().startswith("INSERT")], inserts


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest completed checkpoint under `checkpoint_dir` (any job id), to restore a restarted job."""
    done = [meta.parent for meta in checkpoint_dir.glob("*/chk-*/_metadata")]
    return max(done, key=lambda path: path.stat().st_mtime, default=None)
