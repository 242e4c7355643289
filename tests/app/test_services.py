"""The cluster's services (app/services.py) and what their containers run (app/serve.py)."""

from __future__ import annotations

import socket
import urllib.request

from app import kafka_access, serve, services
from app.cli import COMMANDS
from app.connectors.config import load_sources
from app.sinks.loads import LOADS


def test_one_connector_per_raw_topic_with_its_vendor_sources_and_their_credentials():
    sources = load_sources()
    found = services.connectors()
    assert len({c.topic for c in found}) == len(found)
    for connector in found:
        assert connector.name == kafka_access.connector_user(connector.topic)
        chosen = [sources[name][0] for name in connector.sources]
        assert {s.topic for s in chosen} == {connector.topic}
        assert not any(s.adapter in ("synthetic", "replay") or s.retired for s in chosen)
        assert set(connector.credentials) == {s.auth.env for s in chosen if s.auth}
    vendor = {name for name, (s, _) in sources.items() if s.adapter not in ("synthetic", "replay")}
    retired = {name for name, (s, _) in sources.items() if s.retired}
    assert {name for c in found for name in c.sources} == vendor - retired


def test_one_sink_per_load_and_every_service_has_its_kafka_user():
    assert {(s.topic, s.name) for s in services.sinks()} == {
        (load.topic, load.group) for load in LOADS.values()
    }
    users = {w.name for w in kafka_access.workloads("prod")}
    assert {s.name for s in (*services.connectors(), *services.sinks())} <= users


def test_serve_runs_the_cluster_commands_that_wh_runs():
    assert all(COMMANDS[name][0] == module for name, module in serve.COMMANDS.items())


def test_serve_serves_metrics_on_the_given_address_and_ends_with_the_commands_code(capsys, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert serve.main(["--metrics-port", str(port), "connect", "--list"]) == 0
    assert "polygon" in capsys.readouterr().out
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert b"pipeline_messages_processed_total" in response.read()
    monkeypatch.delenv("WH_DATABASE_DSN", raising=False)
    assert serve.main(["migrate"]) == 2
    assert "no database given" in capsys.readouterr().err
