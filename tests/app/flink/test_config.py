"""app/flink/jobs.yaml: bad settings fail on load, naming the file, the key and what is allowed."""

from __future__ import annotations

import pytest

from app.flink import config
from app.yamlconfig import ConfigError


def _jobs_yaml_with(tmp_path, old: str, new: str):
    """A copy of app/flink/jobs.yaml with `old` (which must be in it) replaced by `new`."""
    text = config.JOBS_FILE.read_text()
    assert old in text, f"jobs.yaml no longer holds {old!r}: update the test"
    path = tmp_path / "jobs.yaml"
    path.write_text(text.replace(old, new))
    config._document.cache_clear()
    return path


def test_every_environment_loads():
    for env in config.environments():
        assert config.settings(env).checkpoint.interval > 0


def test_local_checkpoints_more_often_than_prod():
    assert config.settings("local").checkpoint.interval < config.settings("prod").checkpoint.interval


def test_bad_override_names_file_key_and_allowed_values(tmp_path):
    path = _jobs_yaml_with(
        tmp_path, "  dev:\n    parallelism: 2", "  dev:\n    parallelism: 2\n    state: {backend: leveldb}"
    )
    with pytest.raises(ConfigError) as err:
        config.settings("dev", path)
    assert str(path) in str(err.value)
    assert "environments.dev.state.backend" in str(err.value)
    assert "rocksdb" in str(err.value) and "hashmap" in str(err.value)


def test_rocksdb_timers_on_the_heap_backend_fail_on_load(tmp_path):
    local_state = "state: {backend: hashmap, incremental: false}"
    path = _jobs_yaml_with(tmp_path, local_state, local_state[:-1] + ", timers: rocksdb}")
    with pytest.raises(ConfigError) as err:
        config.settings("local", path)
    assert str(path) in str(err.value)
    assert "environments.local.state.timers" in str(err.value)
    assert "timers: rocksdb needs backend: rocksdb" in str(err.value)


def test_bad_duration_and_unknown_environment(tmp_path):
    path = _jobs_yaml_with(tmp_path, "interval: 30s", "interval: thirty")
    with pytest.raises(ConfigError, match=r"defaults\.checkpoint\.interval.*duration like 500ms"):
        config.settings("prod", path)
    with pytest.raises(ConfigError, match="no environment 'qa'; known: dev, loadtest, local, prod, staging"):
        config.settings("qa", path)


def test_alignment_that_cannot_act_before_idleness_fails_on_load(tmp_path):
    # The local environment sets a 2 s idle timeout; a 2 s update interval would pause a partition too late.
    path = _jobs_yaml_with(
        tmp_path,
        "watermark_alignment: {max_drift: 1s, update_interval: 250ms}",
        "watermark_alignment: {max_drift: 5s, update_interval: 2s}",
    )
    with pytest.raises(ConfigError) as err:
        config.settings("local", path)
    assert str(path) in str(err.value)
    assert "environments.local.market_data.watermark_alignment" in str(err.value)
    assert "update_interval (2000ms) must be shorter than idle_partition_timeout (2000ms)" in str(err.value)
    config.settings("prod", path)  # 1 s against 30 s: fine


def test_fetch_size_must_be_positive(tmp_path):
    path = _jobs_yaml_with(tmp_path, "max_partition_fetch_bytes: 131072", "max_partition_fetch_bytes: 0")
    with pytest.raises(
        ConfigError, match=r"environments\.local\.market_data\.max_partition_fetch_bytes.*greater than 0"
    ):
        config.settings("local", path)


def test_alignment_drift_below_its_own_feedback_delay_fails_on_load(tmp_path):
    # Readers hear of the slowest watermark up to 2 x 250 ms + 200 ms late: 500 ms would pause a live stream.
    path = _jobs_yaml_with(
        tmp_path,
        "watermark_alignment: {max_drift: 1s, update_interval: 250ms}",
        "watermark_alignment: {max_drift: 500ms, update_interval: 250ms}",
    )
    with pytest.raises(ConfigError) as err:
        config.settings("local", path)
    assert "environments.local.market_data.watermark_alignment" in str(err.value)
    assert (
        "max_drift (500ms) must be at least 2 x update_interval + the 200ms watermark interval (700ms)"
        in str(err.value)
    )


def test_transaction_timeout_not_outliving_checkpoint_and_downtime_fails_on_load(tmp_path):
    # prod: 30 s interval + 600 s checkpoint timeout + 4 min downtime = 870 s; the old 600 s is too short.
    path = _jobs_yaml_with(tmp_path, "transaction_timeout: 15m", "transaction_timeout: 600s")
    with pytest.raises(ConfigError) as err:
        config.settings("prod", path)
    assert str(path) in str(err.value)
    assert "defaults.transaction_timeout" in str(err.value)
    assert (
        "transaction_timeout (600000ms) must exceed checkpoint.interval + checkpoint.timeout + max_downtime "
        "(30000 + 600000 + 240000 = 870000ms)" in str(err.value)
    )


def test_transaction_timeout_above_the_brokers_maximum_fails_on_load(tmp_path):
    path = _jobs_yaml_with(tmp_path, "transaction_timeout: 15m", "transaction_timeout: 1h")
    with pytest.raises(ConfigError, match=r"defaults\.transaction_timeout.*transaction\.max\.timeout\.ms"):
        config.settings("dev", path)


def test_downtime_shorter_than_a_restart_delay_fails_on_load(tmp_path):
    path = _jobs_yaml_with(tmp_path, "max_downtime: 4m", "max_downtime: 1m")
    with pytest.raises(ConfigError) as err:
        config.settings("prod", path)
    assert "defaults.max_downtime" in str(err.value)
    assert "must be at least restart.max_delay (120000ms)" in str(err.value)


def test_every_environment_restarts_with_exponential_delay_and_no_attempt_limit():
    for env in config.environments():
        settings = config.settings(env)
        flink = settings.flink_configuration()
        assert flink["restart-strategy.type"] == "exponential-delay", env
        # Flink's default for attempts-before-reset-backoff is unlimited; nothing may set a small one.
        assert not any("attempts" in key for key in flink), env
        cp = settings.checkpoint
        assert settings.transaction_timeout > cp.interval + cp.timeout + settings.max_downtime, env


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            "        memory: 8g\n        flink_memory: 6g",
            "        memory: 8g\n        flink_memory: 7900m",
            "environments.loadtest.cluster.task_manager.flink_memory",
            "flink_memory (7900m) must leave at least 448m of memory (8192m) for the JVM metaspace (256m)",
        ),
        (
            "      job_manager: {replicas: 2, memory: 4g, cpu: 1, cpu_limit: 2}",
            "      job_manager: {replicas: 2, memory: 4g, cpu: 2, cpu_limit: 1}",
            "environments.loadtest.cluster.job_manager.cpu_limit",
            "cpu_limit (1.0) must be at least cpu (2.0)",
        ),
        (
            "      job_manager: {replicas: 2, memory: 4g, cpu: 1, cpu_limit: 2}",
            "      job_manager: {replicas: 2, memory: 4 GB, cpu: 1, cpu_limit: 2}",
            "environments.loadtest.cluster.job_manager.memory",
            "a size like 512m or 4g is required (got '4 GB')",
        ),
    ],
)
def test_pods_that_cannot_hold_their_jvm_fail_on_load(tmp_path, old, new, key, problem):
    path = _jobs_yaml_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        config.settings("loadtest", path)
    assert str(path) in str(err.value) and key in str(err.value) and problem in str(err.value)


def test_a_parallelism_beyond_the_source_partitions_fails_rendering_the_chart_values(tmp_path):
    from app.flink import chart_values

    path = _jobs_yaml_with(tmp_path, "    news: {parallelism: 8}", "    news: {parallelism: 9}")
    with pytest.raises(ConfigError, match=r"news\.parallelism: 9 is more than the 8 partitions of news-raw"):
        chart_values.render("prod", path)
