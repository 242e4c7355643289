"""The daily batch's Spark on a laptop: local mode in this process's PySpark gateway JVM, reading the lake
on the AWS emulator through s3a (the hadoop-aws jars from the bootstrap's cache).

    with local_spark(endpoint) as spark:
        daily_job.run_day(spark, s3, bucket, dsn, day)

The JVM is PySpark's child; `stop` ends it by its pid (PySpark itself leaves it running until this process
exits), so a command or test session leaves no JVM behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from app.batch.session import session
from app.local.toolchain import toolchain
from infra.bootstrap import debs, jars
from infra.emulator.aws import CREDENTIALS, REGION
from infra.process import ServiceError, pid_alive

HADOOP_AWS = "hadoop-aws"


def local_overrides(endpoint: str) -> dict[str, str]:
    """The s3a settings that point Spark at the emulator at `endpoint`, and the jars that bring s3a."""
    return {
        "spark.jars": ",".join(str(jar) for jar in toolchain(lambda: jars.classpath(HADOOP_AWS))),
        "spark.hadoop.fs.s3a.endpoint": endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": REGION,
        "spark.hadoop.fs.s3a.access.key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "spark.hadoop.fs.s3a.secret.key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def start(endpoint: str):
    """A local SparkSession reading s3a:// from the emulator at `endpoint`."""
    java = toolchain(debs.java_binary)
    os.environ.setdefault("JAVA_HOME", str(java.resolve().parents[1]))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # everything Spark binds stays on loopback
    return session("local", local_overrides(endpoint))


def stop(spark, grace: float = 15.0) -> None:
    """Stop `spark` and its gateway JVM, by the JVM's pid."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    spark.stop()
    if gateway is None:
        return
    gateway.shutdown()
    SparkContext._gateway = SparkContext._jvm = None
    if process is None:
        return
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
        process.wait(10)
    if pid_alive(process.pid):
        raise ServiceError(f"the Spark gateway JVM (pid {process.pid}) did not stop")


def gateway_pid() -> int | None:
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    return process.pid if process is not None else None


@contextlib.contextmanager
def local_spark(endpoint: str) -> Iterator[object]:
    spark = start(endpoint)
    try:
        yield spark
    finally:
        stop(spark)
