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
