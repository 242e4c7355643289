"""The Flink jobs' JVM functions (app/flink/java) compiled into a jar, cached by a hash of their sources.

They are compiled against the Flink jars that the pinned apache-flink wheel ships, so the jar always
matches the runtime that loads it (the local mini-cluster, or the image of the FlinkDeployment).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from . import debs, jars, venv
from .common import REPO, BootstrapError, cache_root, discard_partial, fingerprint, run, say, step

SOURCES = REPO / "app" / "flink" / "java"
JAVA_RELEASE = "11"  # the oldest JVM the Flink 1.20 images run on


def _sources() -> list[Path]:
    return sorted(SOURCES.rglob("*.java"))


def flink_lib() -> Path:
    lib = venv.venv_path() / "lib" / "python3.11" / "site-packages" / "pyflink" / "lib"
    if not lib.is_dir():
        raise BootstrapError(f"{lib} not found: run `python3 -m infra.bootstrap python` first")
    return lib


def classpath() -> str:
    """Flink's own jars and the Kafka connector's (the source's deserializer implements its interface)."""
    return ":".join([f"{flink_lib()}/*", *map(str, jars.classpath(jars.FLINK_KAFKA_CONNECTOR))])


def jar_path() -> Path:
    key = fingerprint(
        *(p.relative_to(SOURCES).as_posix() + "\n" + p.read_text() for p in _sources()),
        JAVA_RELEASE,
        jars.version(jars.FLINK_KAFKA_CONNECTOR),
    )
    return cache_root() / "jars" / f"waardhaven-flink-udfs-{key}.jar"


def ensure() -> Path:
    jar = jar_path()
    if zipfile.is_zipfile(jar):
        say(f"flink udf jar cached at {jar}")
        return jar
    discard_partial(jar, "not a readable jar")
    javac = debs.java_binary().with_name("javac")
    if not javac.exists():
        raise BootstrapError(f"{javac} not found: install a JDK (python3 -m infra.bootstrap debs)")
    with step(f"flink udf jar {jar.name}"), tempfile.TemporaryDirectory(prefix="wh-udfs-") as tmp:
        classes = Path(tmp) / "classes"
        run(
            [str(javac), "--release", JAVA_RELEASE, "-nowarn", "-cp", classpath(), "-d", str(classes)]
            + [str(p) for p in _sources()],
            what="compiling app/flink/java",
            fix="fix the compile error above",
            env=debs.java_env(),
        )
        staging = Path(tmp) / jar.name
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for cls in sorted(classes.rglob("*.class")):
                out.write(cls, cls.relative_to(classes).as_posix())
        jar.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, jar)  # whole jar or nothing: a killed build leaves no half-written file here
    return jar
