"""The PyFlink local runtime: a mini-cluster in the PyFlink gateway JVM, with the Kafka connector jars.

    env = stream_environment(parallelism=1)
    tables = table_environment(env)

PyFlink starts one gateway JVM per Python process on first use; `shutdown()` stops it by its pid so a
test session or command leaves no JVM behind (atexit does it too).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from app.flink import config
from app.local.toolchain import toolchain
from infra.bootstrap import debs, jars
from infra.bootstrap.common import cache_root, fingerprint, is_complete, mark_complete
from infra.process import ServiceError, pid_alive

# The gateway JVM hosts the whole mini-cluster; the machine is shared, so keep it small.
GATEWAY_JVM_ARGS = "-Xms128m -Xmx768m"
LOCAL_DEFAULTS = {
    "taskmanager.memory.managed.size": "128m",
    "taskmanager.memory.network.min": "32m",
    "taskmanager.memory.network.max": "32m",
    "python.executable": sys.executable,
    "python.client.executable": sys.executable,
}


# The scrape job (job label) of the mini-cluster's metrics, pushed to a Pushgateway (app/local/prometheus.py)
FLINK_SCRAPE_JOB = "flink"
PUSH_REPORTER = "org.apache.flink.metrics.prometheus.PrometheusPushGatewayReporterFactory"


def pushgateway_reporter(url: str, job: str) -> dict[str, str]:
    """Flink keys that push the mini-cluster's metrics, named as the cluster's pull reporter names them, to
    the Pushgateway at `url` every second; the last push stays there after the job ends. Each job (of
    app.flink.jobs) pushes to a group of its own (label flink_job): a push replaces its whole group."""
    reporter = f"metrics.reporter.{config.METRIC_REPORTER}"
    return {
        f"{reporter}.factory.class": PUSH_REPORTER,
        f"{reporter}.hostUrl": url,
        f"{reporter}.jobName": FLINK_SCRAPE_JOB,
        f"{reporter}.groupingKey": f"flink_job={job}",
        f"{reporter}.randomJobNameSuffix": "false",
        f"{reporter}.deleteOnShutdown": "false",
        f"{reporter}.interval": "1 s",
    }


def connector_jars() -> list[Path]:
    return toolchain(lambda: jars.classpath(jars.FLINK_KAFKA_CONNECTOR))


def local_configuration(parallelism: int = 1, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Flink configuration for a local run: connector jars on `pipeline.jars`, small memory."""
    return {
        **LOCAL_DEFAULTS,
        "parallelism.default": str(parallelism),
        "pipeline.jars": ";".join(jar.as_uri() for jar in connector_jars()),
        **(extra or {}),
    }


def _pyflink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


def gateway_lib() -> Path:
    """PyFlink's lib/ jars and its Prometheus reporter linked into one directory, the gateway JVM's
    FLINK_LIB_DIR: a mini-cluster has no plugin manager and finds metric reporters on its classpath only
    (the FlinkDeployments' images load the same jar from plugins/)."""
    home = _pyflink_home()
    jars = [
        *sorted((home / "lib").glob("*.jar")),
        *sorted((home / "plugins" / "metrics-prometheus").glob("*.jar")),
    ]
    lib = cache_root() / "flink-gateway-lib" / fingerprint(*map(str, jars))
    if not is_complete(lib):
        lib.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=lib.name + ".partial-", dir=lib.parent))
        for jar in jars:
            (staging / jar.name).symlink_to(jar)
        mark_complete(staging)
        try:
            staging.rename(lib)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return lib


def _prepare_gateway() -> None:
    java = toolchain(debs.java_binary)
    os.environ.setdefault("JAVA_HOME", str(java.resolve().parents[1]))
    # PyFlink's own choice of FLINK_HOME (the package); set here, it keeps our FLINK_LIB_DIR.
    os.environ.setdefault("FLINK_HOME", str(_pyflink_home()))
    os.environ.setdefault("FLINK_LIB_DIR", str(gateway_lib()))
    os.environ.setdefault("JVM_ARGS", GATEWAY_JVM_ARGS)
    atexit.unregister(shutdown)
    atexit.register(shutdown)


def gateway():
    """This process's PyFlink gateway (py4j), started on first use with the project's JVM settings."""
    from pyflink.java_gateway import get_gateway

    _prepare_gateway()
    return get_gateway()


def stream_environment(parallelism: int = 1, extra: dict[str, str] | None = None):
    """A StreamExecutionEnvironment on the local mini-cluster (`extra` overrides any key)."""
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment

    settings = local_configuration(parallelism, extra)
    _prepare_gateway()
    config = Configuration()
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


def table_environment(env=None, parallelism: int = 1, extra: dict[str, str] | None = None):
    """A StreamTableEnvironment over `env` (or a new local stream environment)."""
    from pyflink.table import StreamTableEnvironment

    env = env or stream_environment(parallelism, extra)
    tables = StreamTableEnvironment.create(stream_execution_environment=env)
    for key, value in local_configuration(parallelism, extra).items():
        tables.get_config().set(key, value)
    return tables


def gateway_pid() -> int | None:
    """The pid of this process's PyFlink gateway JVM, if one is running."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me and b"PythonGatewayServer" in (stat.parent / "cmdline").read_bytes():
                return int(stat.parent.name)
        except (OSError, IndexError):
            continue
    return None


def shutdown(grace: float = 15.0) -> None:
    """Stop the gateway JVM (and with it the mini-cluster); the next environment starts a fresh one."""
    java_gateway = sys.modules.get("pyflink.java_gateway")
    if java_gateway is None:
        return
    pid = gateway_pid()
    if java_gateway._gateway is not None:  # pyflink keeps no public handle to close it
        java_gateway._gateway.shutdown()
        java_gateway._gateway = None
    # A Python UDF run in this process (loopback mode) leaves this set, which forbids a new gateway;
    # with the gateway gone no UDF can still be running here.
    os.environ.pop("PYFLINK_GATEWAY_DISABLED", None)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    if pid_alive(pid):
        raise ServiceError(f"the PyFlink gateway JVM (pid {pid}) did not stop")
