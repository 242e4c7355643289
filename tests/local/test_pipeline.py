"""`wh pipeline`, the main job: a real run end to end, and Ctrl-C in the middle leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.local.pipeline import MALFORMED
from app.local.process import pid_alive
from app.local.tick_loader import TickLoader
from tests.conftest import unique_name

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
WH = [sys.executable, "-m", "app.cli", "pipeline"]


def _service_pids(stderr: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", stderr)]


def test_pipeline_runs_end_to_end_and_stops_its_services():
    proc = subprocess.run([*WH, "--ticks", "3000"], cwd=REPO, capture_output=True, text=True, timeout=300)

    assert proc.returncode == 0, proc.stderr[-3000:]
    table = dict(re.findall(r"^(\w[\w ,()+-]*?)\s{2,}(\d+)", proc.stdout, re.MULTILINE))
    assert table["produced (connector)"] == "3000"
    assert table["consumed + loaded"] == str(3000 + len(MALFORMED))
    assert int(table["rows inserted"]) + int(table["duplicates (time, symbol)"]) == 3000
    assert table["rows in market_data_ts"] == table["rows inserted"]
    assert table["dead-lettered"] == table["on dead-letter topic"] == str(len(MALFORMED))
    pids = _service_pids(proc.stderr)
    assert len(pids) == 2 and not any(pid_alive(pid) for pid in pids)


def test_ctrl_c_mid_run_stops_every_service():
    proc = subprocess.Popen(
        [*WH, "--ticks", "2000000", "--rate", "2000"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if "producing" in line:
                break
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    stderr = "".join(lines) + rest
    assert proc.returncode == 130, stderr[-2000:]
    assert "wh: interrupted" in stderr
    pids = _service_pids(stderr)
    assert len(pids) == 2 and not any(pid_alive(pid) for pid in pids)


def test_loader_dead_letters_bad_records_with_their_reason(kafka_broker, postgres):
    from confluent_kafka import Producer

    from app import migrations

    dsn = postgres.create_database(unique_name("loader"))
    migrations.apply(dsn)
    suffix = "." + unique_name("t")
    topics = Catalog([catalog()["market-data-raw"], catalog()["market-data-dead-letter"]]).with_suffix(suffix)
    ensure_topics(kafka_broker.bootstrap_servers, topics)
    raw, dead = topics["market-data-raw" + suffix], topics.dead_letter("market-data")
    good = {
        "type": "tick",
        "symbol": "ACME",
        "timestamp": int(time.time() * 1000),
        "price": 12.5,
        "volume": 100,
    }
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    producer.produce(raw.name, value=json.dumps({**good, "source": "test"}).encode(), key=b"ACME")
    for payload in MALFORMED:
        producer.produce(raw.name, value=payload, key=b"ACME")
    assert producer.flush(30) == 0

    stats = TickLoader(kafka_broker.bootstrap_servers, dsn, raw, dead, group=unique_name("g")).run(
        expected=1 + len(MALFORMED), timeout=60
    )

    assert (stats.consumed, stats.inserted, stats.dead_lettered) == (1 + len(MALFORMED), 1, len(MALFORMED))
    letters = [json.loads(m.value()) for m in kafka_broker.consume(dead.name, len(MALFORMED))]
    reasons = sorted(letter["reason"] for letter in letters)
    assert [r.split(":")[0] for r in reasons] == [
        "malformed JSON",
        "malformed JSON",
        "tick.price",
        "tick.price",
        "tick.timestamp",
    ]
    assert "greater than 0 (got -3)" in reasons[3]
    assert len({letter["raw_sha256"] for letter in letters}) == len(MALFORMED)


def test_pipeline_without_its_jars_names_the_command_that_builds_them(tmp_path):
    env = {**os.environ, "WAARDHAVEN_CACHE": str(tmp_path)}
    proc = subprocess.run(WH, cwd=REPO, capture_output=True, text=True, timeout=60, env=env)

    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("wh pipeline: the kafka jars at ")
    assert "run `python3 -m infra.bootstrap jars`" in proc.stderr
    assert "Traceback" not in proc.stderr
