"""app.probe, the charts' helm test checks: a TCP flow open or closed as expected, on loopback. Its Flink and
Prometheus checks run against the real services in tests/app/flink/test_news_job.py and
tests/app/local/test_pipeline.py."""

from __future__ import annotations

import socket

import pytest

from app import probe
from infra.process import free_port


@pytest.fixture
def listening():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"127.0.0.1:{server.getsockname()[1]}"


def test_an_open_flow_passes_when_expected_open_and_fails_when_expected_closed(listening, capsys):
    assert probe.main(["tcp", listening, "--expect", "open"]) == 0
    assert f"{listening} is open, as expected" in capsys.readouterr().out
    assert probe.main(["tcp", listening, "--expect", "closed"]) == 1
    assert f"{listening} accepts connections; expected it closed" in capsys.readouterr().err


def test_a_closed_flow_passes_when_expected_closed_and_names_why_when_expected_open(capsys):
    address = f"127.0.0.1:{free_port()}"
    assert probe.main(["--timeout", "2", "tcp", address, "--expect", "closed"]) == 0
    assert probe.main(["--timeout", "2", "tcp", address, "--expect", "open"]) == 1
    assert "is unreachable ([Errno 111] Connection refused); expected it open" in capsys.readouterr().err


def test_an_unreachable_rest_api_is_named():
    with pytest.raises(probe.ProbeFailed, match=r"GET http://127\.0\.0\.1:\d+/jobs/overview: "):
        probe.flink_job(f"http://127.0.0.1:{free_port()}", "waardhaven-news", timeout=2)
