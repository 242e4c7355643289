"""`wh topics` and `wh connect`: the catalog as a table and as Strimzi YAML; sources listed; clear errors."""

import yaml

from app.catalog.strimzi import kafka_topics
from app.cli import main


def test_topics_strimzi_output_is_the_rendered_catalog(capsys):
    assert main(["topics", "--strimzi", "--brokers", "1"]) == 0
    assert list(yaml.safe_load_all(capsys.readouterr().out)) == kafka_topics(brokers=1)


def test_topics_table_scales_with_brokers(capsys):
    assert main(["topics", "--brokers", "1"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("market-data-raw "))
    assert row.split()[:6] == ["market-data-raw", "market-data", "raw", "24", "1", "1"]


def test_connect_lists_sources_and_names_a_missing_credential(capsys, monkeypatch):
    assert main(["connect"]) == 0
    listing = capsys.readouterr().out
    assert "polygon" in listing and "newsapi" in listing and "1000/day" in listing
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    assert main(["connect", "polygon"]) == 2
    assert "environment variable POLYGON_API_KEY" in capsys.readouterr().err
    assert main(["connect", "nope"]) == 2
    assert "no source 'nope'" in capsys.readouterr().err


def test_connect_names_a_missing_replay_file(capsys, tmp_path):
    offline = ["--state-dir", str(tmp_path), "--bootstrap-servers", "127.0.0.1:1"]
    assert main(["connect", "replay_ticks", *offline]) == 1
    assert "replay file data/replay/ticks.csv not found" in capsys.readouterr().err


def test_connect_ends_in_one_line_not_a_traceback(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/replay").mkdir(parents=True)
    (tmp_path / "data/replay/ticks.csv").write_text("symbol,timestamp,price,volume\n")
    (tmp_path / "replay_ticks.cursor.json").write_text("{half")
    offline = ["--state-dir", str(tmp_path), "--bootstrap-servers", "127.0.0.1:1"]
    assert main(["connect", "replay_ticks", *offline]) == 1
    err = capsys.readouterr().err
    assert "replay_ticks.cursor.json: corrupt cursor" in err and "Traceback" not in err
