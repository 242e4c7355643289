"""The FlinkDeployments' memory settings as Flink itself derives them: the pinned Flink's BashJavaUtils (what
a pod's start script runs to size the JVM) is given each environment's rendered configuration and the
process size the operator sets from the pod's memory, and fails where a TaskManager or JobManager would not
start."""

from __future__ import annotations

import re
import subprocess

import pytest

from app.flink import config
from infra.bootstrap.flink_udfs import flink_lib

# The market-data job's state per symbol in its last checkpoint (benchmarks/flink_bench.py, README
# "Sizing the market-data job for 1M events/s"), and the symbols the requirements name.
STATE_BYTES_PER_SYMBOL = 482
SYMBOLS = 50_000


def bash_java_utils(tmp_path, command: str, configuration: dict[str, str]) -> subprocess.CompletedProcess:
    (tmp_path / "config.yaml").write_text("")
    lib = flink_lib()
    dynamic = [arg for key, value in configuration.items() for arg in ("-D", f"{key}={value}")]
    classpath = f"{lib.parent / 'bin' / 'bash-java-utils.jar'}:{lib}/*"
    main = "org.apache.flink.runtime.util.bash.BashJavaUtils"
    return subprocess.run(
        ["java", "-cp", classpath, main, command, "--configDir", str(tmp_path), *dynamic],
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal(result: subprocess.CompletedProcess) -> str:
    return next((line for line in result.stderr.splitlines() if "IllegalConfigurationException" in line), "")


def derived_memory(tmp_path, command: str, configuration: dict[str, str]) -> dict[str, int]:
    """Flink's memory keys (bytes) as BashJavaUtils derives them; fails with Flink's reason."""
    result = bash_java_utils(tmp_path, command, configuration)
    if result.returncode != 0:
        pytest.fail(f"Flink refuses the memory configuration: {refusal(result) or result.stderr[-2000:]}")
    results = [line for line in result.stdout.splitlines() if line.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")]
    return {key: int(size) for key, size in re.findall(r"-D (\S+)=(\d+)b", results[-1])}


def task_manager_memory(tmp_path, pods: config.Cluster) -> dict[str, int]:
    """A TaskManager's memory as its pod starts it: the rendered keys, the process size from its memory."""
    process = {"taskmanager.memory.process.size": f"{pods.task_manager.memory}m"}
    return derived_memory(tmp_path, "GET_TM_RESOURCE_PARAMS", {**pods.flink_configuration(), **process})


@pytest.mark.parametrize("env", config.environments())
def test_task_managers_start_with_the_fractions_configured(env, tmp_path):
    pods = config.settings(env).cluster
    tm = pods.task_manager
    memory = task_manager_memory(tmp_path, pods)
    flink = tm.flink_memory * 2**20
    assert memory["taskmanager.memory.managed.size"] == pytest.approx(flink * tm.managed_fraction, rel=1e-6)
    assert memory["taskmanager.memory.network.max"] == pytest.approx(flink * tm.network_fraction, rel=1e-6)
    assert memory["taskmanager.memory.jvm-overhead.max"] == tm.jvm_overhead_mb * 2**20


def test_the_briefs_sizes_alone_are_refused_for_the_jvm_overhead(tmp_path):
    """Why config.py raises the overhead's ceiling: process 8g with Flink 6g leaves Flink a 1.75g overhead,
    outside its default range."""
    result = bash_java_utils(
        tmp_path,
        "GET_TM_RESOURCE_PARAMS",
        {"taskmanager.memory.process.size": "8g", "taskmanager.memory.flink.size": "6g"},
    )
    assert result.returncode != 0
    assert "Derived JVM Overhead size (1.750gb" in refusal(result)


@pytest.mark.parametrize("env", config.environments())
def test_job_managers_start_in_their_pods(env, tmp_path):
    jm = config.settings(env).cluster.job_manager
    memory = derived_memory(
        tmp_path, "GET_JM_RESOURCE_PARAMS", {"jobmanager.memory.process.size": f"{jm.memory}m"}
    )
    assert 0 < memory["jobmanager.memory.heap.size"] < jm.memory * 2**20


def test_prod_managed_memory_holds_the_requirements_symbols_with_headroom(tmp_path):
    """RocksDB's share of one slot holds the state of all 50,000 symbols ten times over (the 24 subtasks
    split the symbols between them)."""
    pods = config.settings("prod").cluster
    managed = task_manager_memory(tmp_path, pods)["taskmanager.memory.managed.size"]
    per_slot = managed / pods.task_manager.slots
    assert per_slot > 10 * SYMBOLS * STATE_BYTES_PER_SYMBOL
