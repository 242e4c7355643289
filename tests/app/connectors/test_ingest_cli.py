"""`wh topics` and `wh connect`: the catalog as a table and as Strimzi YAML; sources listed; clear errors."""

import yaml

from app.catalog.strimzi import kafka_topics
from app.cli import main
from app.connectors.config import load_sources


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


def test_connect_list_shows_vendor_topic_schedule_and_quota(capsys):
    assert main(["connect", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SOURCE", "VENDOR", "ADAPTER", "TOPIC", "SCHEDULE", "QUOTA", "CREDENTIAL"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(load_sources())
    assert "NewsAPI" in rows["newsapi"] and "news-raw" in rows["newsapi"] and "every 20m" in rows["newsapi"]
    assert "1000/day" in rows["newsapi"] and "NEWSAPI_KEY" in rows["newsapi"]
    assert "[retired]" in rows["iex_stream"] and "stream" in rows["iex_stream"]


def test_connect_check_passes_the_project_sources_offline(capsys):
    assert main(["connect", "--check", "--bootstrap-servers", "127.0.0.1:1"]) == 0
    assert f"{len(load_sources())} sources, 0 problem(s)" in capsys.readouterr().out


CHECKED = """
sources:
  news_a:
    adapter: rest
    topic: news-raw
    rate_limit: 100/day
    auth: {env: SHARED_NEWS_KEY, query: key}
    options:
      url: https://news.example/a
      schedule: 5m
      pagination: {type: page, max_pages: 2}
      mapping: {title: t}
  news_b:
    adapter: rest
    topic: news-raw
    rate_limit: 100/day
    auth: {env: SHARED_NEWS_KEY, query: key}
    options:
      url: https://news.example/b
      schedule: 1h
      cursor: {field: published_at, id_field: id}
      mapping: {id: id, published_at: {from: t, as: iso_ms}}
  slow:
    adapter: rest
    topic: economic-indicators
    rate_limit: 1/minute
    options:
      url: https://stats.example/s
      fan_out: {series: [A, B, C]}
      schedule: 1m
      cursor: {field: timestamp, id_field: series_id}
      mapping: {series_id: {param: series}, timestamp: t}
"""


def test_connect_check_names_each_problem(tmp_path, capsys):
    path = tmp_path / "sources.yaml"
    path.write_text(CHECKED)
    assert main(["connect", "--check", "--sources", str(path)]) == 1
    out = capsys.readouterr().out
    assert "news_a: a polling source without a cursor" in out
    assert "slow: 3 requests a poll take longer at 1/minute than its schedule of 1m" in out
    assert "SHARED_NEWS_KEY: news_a, news_b poll for up to 600 requests a day, over its quota of 100" in out
    assert "3 sources, 3 problem(s)" in out


def test_connect_check_refuses_a_mapping_target_the_schema_lacks(tmp_path, capsys):
    path = tmp_path / "sources.yaml"
    path.write_text(CHECKED.replace("mapping: {title: t}", "mapping: {headline: t}"))
    assert main(["connect", "--check", "--sources", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sources.news_a.options.mapping.headline" in err and "no field 'headline'" in err
