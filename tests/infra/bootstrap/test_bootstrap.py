"""Bootstrap steps `debs` and `jars`: fast cached runs, corrupt caches rebuilt, missing tools in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.local import flink
from app.local.kafka import KafkaBroker
from app.local.postgres import Postgres
from infra.bootstrap import jars
from infra.bootstrap.common import BootstrapError, cache_root
from infra.process import ServiceError
from tests import REPO

pytestmark = pytest.mark.integration
# The interpreter behind `python3` (a version-manager shim may be a shell script needing PATH).
SYSTEM_PYTHON = subprocess.check_output(
    ["python3", "-c", "import sys; print(sys.executable)"], text=True
).strip()


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache that shares the real Maven repository, so a rebuild needs no network."""
    m2 = cache_root() / "m2"
    monkeypatch.setenv("WAARDHAVEN_CACHE", str(tmp_path))
    if m2.is_dir():
        (tmp_path / "m2").symlink_to(m2)
    return tmp_path


def _bootstrap(*steps: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SYSTEM_PYTHON, "-m", "infra.bootstrap", *steps],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_second_run_of_debs_and_jars_is_fast_and_builds_nothing():
    first = _bootstrap("debs", "jars")
    assert first.returncode == 0, first.stderr
    started = time.monotonic()
    second = _bootstrap("debs", "jars")
    elapsed = time.monotonic() - started

    assert second.returncode == 0, second.stderr
    assert "first time" not in second.stderr  # no download step ran
    assert second.stderr.count("cached at") == len(jars.bundles())
    assert elapsed < 5, f"cached bootstrap took {elapsed:.1f}s"


def test_missing_jars_fail_with_the_command_that_builds_them(private_cache):
    with pytest.raises(
        ServiceError, match=r"kafka jars at .* are incomplete.*run `python3 -m infra.bootstrap jars`"
    ):
        KafkaBroker().start()
    with pytest.raises(
        ServiceError, match=r"flink-connector-kafka jars .*run `python3 -m infra.bootstrap jars`"
    ):
        flink.local_configuration()


def test_corrupt_jar_cache_is_detected_and_rebuilt(private_cache):
    directory = jars.ensure("flink-connector-kafka")
    victim = next(directory.glob("kafka-clients-*.jar"))
    victim.write_bytes(b"truncated download")

    with pytest.raises(BootstrapError, match=rf"corrupt \({victim.name} is missing or not a jar\)"):
        jars.classpath("flink-connector-kafka")
    rebuilt = jars.ensure("flink-connector-kafka")

    assert rebuilt == directory
    assert victim in jars.classpath("flink-connector-kafka")
    assert victim.stat().st_size > 1_000_000


def test_half_built_cache_without_marker_is_rebuilt(private_cache):
    directory = jars.bundle_dir("flink-connector-kafka")
    directory.mkdir(parents=True)
    (directory / "leftover.jar").write_bytes(b"")

    jars.ensure("flink-connector-kafka")

    assert not (directory / "leftover.jar").exists()
    assert jars.classpath("flink-connector-kafka")


def test_missing_maven_and_java_are_one_line_errors(private_cache, tmp_path):
    no_tools = {**os.environ, "PATH": str(tmp_path)}
    no_tools.pop("JAVA_HOME", None)

    jar_step = _bootstrap("jars", env=no_tools)
    debs_step = _bootstrap("debs", env={**no_tools, "JAVA_HOME": str(tmp_path)})

    assert jar_step.returncode == 1
    assert jar_step.stderr.splitlines()[-1].startswith("bootstrap: mvn (Maven) not found on PATH: run")
    assert "Traceback" not in jar_step.stderr + debs_step.stderr
    assert debs_step.returncode == 1
    assert "bootstrap: missing openjdk-17-jre-headless, maven and no apt-get here" in debs_step.stderr
    assert len(debs_step.stderr.strip().splitlines()) == 1


def test_starting_a_running_broker_again_is_refused(kafka_broker):
    with pytest.raises(ServiceError, match="Kafka is already running on 127.0.0.1:"):
        kafka_broker.start()


def test_services_die_with_their_parent_even_on_kill_9():
    script = (
        "import sys, time\n"
        "from app.local.postgres import Postgres\n"
        "pg = Postgres().start()\n"
        "print(pg.pid, pg.workdir, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        pid, workdir = parent.stdout.readline().split()
        child = int(pid)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 20
        from infra.process import pid_alive

        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pid_alive(child), f"PostgreSQL pid {child} outlived its killed parent"
        assert Path(workdir).is_dir()  # a killed owner cannot clean up: the next start does
        Postgres().start().stop()
        assert not Path(workdir).exists()
    finally:
        parent.kill()


def test_go_builds_run_beside_the_other_steps_and_every_failure_is_reported(monkeypatch, capsys):
    """`python` waits for `tofu` to have started: run one after the other, this would time out."""
    from infra.bootstrap import __main__ as bootstrap

    tofu_started = threading.Event()

    def python() -> None:
        if not tofu_started.wait(timeout=10):
            raise BootstrapError("tofu had not started while the venv was being made")

    def tofu() -> None:
        tofu_started.set()
        raise BootstrapError("go build of tofu failed")

    monkeypatch.setitem(bootstrap.STEPS, "python", python)
    monkeypatch.setitem(bootstrap.STEPS, "tofu", tofu)
    assert bootstrap.main(["python", "tofu"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == ["bootstrap: go build of tofu failed"]


def test_a_low_priority_build_yields_the_cpu_to_other_sessions():
    """nice alone does not: with autogroup scheduling CPU is first shared between sessions."""
    from infra.bootstrap.gotools import yield_cpu

    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel schedules without autogroups: nice alone sets the build's priority")
    build = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        yield_cpu(build.pid)
        assert Path(f"/proc/{build.pid}/autogroup").read_text().split()[-2:] == ["nice", "19"]
    finally:
        build.kill()
        build.wait()
