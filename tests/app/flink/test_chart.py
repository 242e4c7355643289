"""charts/flink-jobs: the FlinkDeployments carry exactly the checkpoint, restart and state settings of
app/flink/jobs.yaml, the same the local runtime runs with, and reach Kafka on its TLS listener."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from app.catalog import catalog
from app.flink import chart_values, config, jobs
from infra.bootstrap import gotools
from infra.bootstrap.common import is_complete
from infra.config import load_environment
from stacks.platform import flink_jobs_values


@pytest.mark.parametrize("env", config.environments())
def test_values_files_are_rendered_from_the_job_settings(env):
    assert chart_values.values_path(env).read_text() == chart_values.render(env), (
        "stale: run `python -m app.flink.chart_values`"
    )


@pytest.fixture(scope="module")
def helm() -> str:
    """A missing helm build FAILS, naming the bootstrap command that builds it."""
    if not is_complete(gotools.tool_dir(gotools.HELM)):
        pytest.fail("helm is not built: run `python3 -m infra.bootstrap helm`")
    return str(gotools.binary_path(gotools.HELM))


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_rendered_deployments_match_the_settings(helm, env, tmp_path):
    generated = tmp_path / "platform.yaml"  # what the platform stack gives the chart on top
    generated.write_text(yaml.safe_dump(flink_jobs_values(load_environment(env))))
    values = ["-f", str(chart_values.values_path(env)), "-f", str(generated)]
    rendered = subprocess.run(
        [helm, "template", "flink-jobs", str(chart_values.CHART), *values],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    deployments = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "FlinkDeployment"]
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted(jobs.JOBS)
    settings = config.settings(env)
    expected = settings.flink_configuration() | settings.cluster.flink_configuration()
    for deployment in deployments:
        spec, module = deployment["spec"], jobs.JOBS[deployment["metadata"]["name"]]
        flink = spec["flinkConfiguration"]
        assert {k: flink[k] for k in expected} == expected
        # The autoscaler stops at the source topic's partitions, which the job's parallelism never exceeds.
        partitions = catalog()[module.RAW_TOPIC].partitions
        assert flink["job.autoscaler.vertex.max-parallelism"] == str(partitions)
        assert spec["job"]["parallelism"] == module.parallelism(settings) <= partitions
        assert flink["state.checkpoints.dir"].endswith("/" + deployment["metadata"]["name"])
        pods = settings.cluster
        assert spec["jobManager"] == {
            "replicas": pods.job_manager.replicas,
            "resource": {"memory": f"{pods.job_manager.memory}m", "cpu": pods.job_manager.cpu},
        }
        assert spec["taskManager"] == {
            "resource": {"memory": f"{pods.task_manager.memory}m", "cpu": pods.task_manager.cpu}
        }
        pod = spec["podTemplate"]["spec"]
        assert pod["nodeSelector"] == {"workload-type": "data-processing"}
        assert pod["tolerations"] == [
            {"key": "workload-type", "operator": "Equal", "value": "data-processing", "effect": "NoSchedule"}
        ]
        assert spec["job"]["args"][:3] == ["-pym", "app.flink.cluster", deployment["metadata"]["name"]]
        assert spec["job"]["upgradeMode"] == "last-state"
        args = spec["job"]["args"]
        assert args[args.index("--bootstrap-servers") + 1] == (
            "waardhaven-kafka-cluster-kafka-bootstrap.data-processing.svc:9093"
        )
        (container,) = spec["podTemplate"]["spec"]["containers"]
        assert {"name": "WAARDHAVEN_KAFKA_SECURITY", "value": "tls"} in container["env"]
        secrets = {v["secret"]["secretName"] for v in spec["podTemplate"]["spec"]["volumes"]}
        assert secrets == {
            "waardhaven-kafka-cluster-cluster-ca-cert",
            f"flink-{deployment['metadata']['name']}",
        }


def test_prod_uses_the_briefs_checkpointing():
    prod = config.settings("prod").flink_configuration()
    assert prod["execution.checkpointing.interval"] == "30000ms"
    assert prod["execution.checkpointing.min-pause"] == "10000ms"
    assert prod["execution.checkpointing.timeout"] == "600000ms"
    assert prod["execution.checkpointing.externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    assert prod["state.backend.type"] == "rocksdb"
    # At most one timer per symbol: on the heap, not a RocksDB write and delete per timer.
    assert prod["state.backend.rocksdb.timer-service.factory"] == "HEAP"
    assert "state.backend.rocksdb.timer-service.factory" not in config.settings("local").flink_configuration()


def test_prod_runs_the_requirements_cluster():
    """6 TaskManagers of 4 slots for the market-data job at 24 (docs/requirements.md#stream-processing)."""
    prod = config.settings("prod")
    pods = prod.cluster
    assert (pods.job_manager.replicas, pods.job_manager.memory, pods.job_manager.cpu) == (2, 4096, 1)
    assert pods.job_manager.cpu_limit == 2
    tm = pods.task_manager
    assert (tm.memory, tm.flink_memory, tm.cpu, tm.cpu_limit, tm.slots) == (8192, 6144, 2, 4, 4)
    assert (tm.network_fraction, tm.managed_fraction) == (0.2, 0.4)
    assert jobs.JOBS["market-data"].parallelism(prod) // tm.slots == 6
    assert jobs.JOBS["news"].parallelism(prod) == 8
    assert pods.autoscaler.enabled
