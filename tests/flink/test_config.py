"""app/flink/jobs.yaml: bad settings fail on load, naming the file, the key and what is allowed."""

from __future__ import annotations

import pytest

from app.flink import config
from app.yamlconfig import ConfigError


def _write(tmp_path, text: str):
    path = tmp_path / "jobs.yaml"
    path.write_text(text)
    config._document.cache_clear()
    return path


def test_every_environment_loads():
    for env in config.environments():
        assert config.settings(env).checkpoint.interval > 0


def test_local_checkpoints_more_often_than_prod():
    assert config.settings("local").checkpoint.interval < config.settings("prod").checkpoint.interval


def test_bad_override_names_file_key_and_allowed_values(tmp_path):
    good = config.JOBS_FILE.read_text()
    path = _write(
        tmp_path,
        good.replace(
            "  dev:\n    parallelism: 2", "  dev:\n    parallelism: 2\n    state: {backend: leveldb}"
        ),
    )
    with pytest.raises(ConfigError) as err:
        config.settings("dev", path)
    assert str(path) in str(err.value)
    assert "environments.dev.state.backend" in str(err.value)
    assert "rocksdb" in str(err.value) and "hashmap" in str(err.value)


def test_bad_duration_and_unknown_environment(tmp_path):
    path = _write(tmp_path, config.JOBS_FILE.read_text().replace("interval: 30s", "interval: thirty"))
    with pytest.raises(ConfigError, match=r"defaults\.checkpoint\.interval.*duration like 500ms"):
        config.settings("prod", path)
    with pytest.raises(ConfigError, match="no environment 'qa'; known: dev, loadtest, local, prod, staging"):
        config.settings("qa", path)
