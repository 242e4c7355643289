"""`wh pipeline`, the main job, end to end on real Kafka, Flink, PostgreSQL and the moto AWS emulator:
every valid tick once in PostgreSQL and the Parquet lake with exact indicators, every malformed record on
the dead-letter topic with its reason, and every process it started stopped by its pid."""

from __future__ import annotations

import collections
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pandas as pd
import pytest
import yaml

from app import migrations, probe
from app.catalog.admin import ensure_topics
from app.local import pipeline
from app.local.flink import FLINK_SCRAPE_JOB
from app.local.monitoring import LOCAL, PIPELINE_SCRAPE_JOB, local_monitoring
from app.local.prometheus import Pushgateway
from app.metrics import LATENCY_BUCKETS, PipelineMetrics, sample
from app.monitoring.chart import RULES_FILE, thresholds_file
from app.schemas.processed import TICK_COLUMNS
from app.sinks.lake_layout import PROCESSED_MARKET_DATA
from app.sinks.loads import LOADS
from app.sinks.offsets import read_to_end
from app.sinks.timescale import TableLoader
from infra.emulator.aws import AwsEmulator
from infra.process import pid_alive
from tests import REPO
from tests.app.conftest import PIPELINE_TICKS, market_data_topics
from tests.app.flink import reference
from tests.conftest import unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
WH = [sys.executable, "-m", "app.cli", "pipeline"]
TICKS = PIPELINE_TICKS
TOLERANCE = 1e-9
COLUMN_SMA_20 = TICK_COLUMNS.index("sma_20")
LAKE_KEY = re.compile(r"market-data/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/ticks-p\d{4}-\d{19}\.parquet")
INDICATORS = {"sma_20": "sma_20", "sma_50": "sma_50", "rsi": "rsi_14"}
INDICATORS |= {"bollinger_upper": "bollinger_upper", "bollinger_lower": "bollinger_lower"}
# The market-data job's reason for each of pipeline.MALFORMED, in order.
MALFORMED_REASONS = [
    "malformed_json",
    "missing_field:price",
    "price_out_of_range",
    "timestamp_out_of_range",
    "invalid_utf8",
]


def _pids(text: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", text)]


@pytest.fixture(scope="module")
def run(pipeline_run):
    """The session's pipeline run (tests/app/conftest.py)."""
    return pipeline_run


def test_every_valid_tick_lands_once_in_postgresql(run):
    ticks, table, outcome = run["ticks"], run["table"], run["outcome"]
    assert len(ticks) == outcome.produced == TICKS
    stored = sorted(zip(table["symbol"], (t.timestamp() * 1000 for t in table["time"]), strict=True))
    assert stored == sorted(zip(ticks["symbol"], ticks["timestamp"].astype(float), strict=True))
    # The synthetic ticks carry no trade id or sequence: each row is keyed by its price and volume.
    identities = (f"pv:{float(p)!r}/{int(v)}" for p, v in zip(ticks["price"], ticks["volume"], strict=True))
    assert sorted(zip(table["symbol"], table["trade_key"], strict=True)) == sorted(
        zip(ticks["symbol"], identities, strict=True)
    )
    assert (outcome.processed, outcome.loaded, outcome.inserted, outcome.table_rows) == (TICKS,) * 4
    assert outcome.problems() == []


def test_indicators_in_postgresql_equal_the_reference(run):
    ticks, table = run["ticks"], run["table"]
    symbol = ticks["symbol"].value_counts().index[0]
    expected = reference.indicators(ticks[ticks["symbol"] == symbol][["symbol", "timestamp", "price"]])
    got = table[table["symbol"] == symbol].sort_values("time").reset_index(drop=True)
    assert len(got) == len(expected) > 50, "the sample symbol must fill every indicator window"
    checked = 0
    for column, ref_column in INDICATORS.items():
        for value, want in zip(got[column], expected[ref_column], strict=True):
            if math.isnan(want):
                assert value is None or math.isnan(value), (column, value)
            else:
                assert abs(value - want) <= TOLERANCE, (column, value, want)
                checked += 1
    assert checked == expected[list(INDICATORS.values())].notna().sum().sum()


def test_each_malformed_record_is_dead_lettered_with_its_reason(run):
    letters = [orjson.loads(m.value()) for m in run["dead"]]
    assert sorted(letter["reason"] for letter in letters) == sorted(MALFORMED_REASONS)
    by_raw = {letter["raw"]: letter["reason"] for letter in letters}
    for payload, reason in zip(pipeline.MALFORMED[:4], MALFORMED_REASONS, strict=False):
        assert by_raw[payload.decode()] == reason
    assert run["outcome"].dead_letters == collections.Counter(MALFORMED_REASONS)


def test_quality_is_valid_over_total_and_the_lake_batches_score_is_exported(run):
    outcome = run["outcome"]
    total = TICKS + len(pipeline.MALFORMED)
    assert outcome.total == total
    assert outcome.quality == TICKS / total
    assert outcome.lake_quality == 1.0  # the tick suite on every batch the sinks wrote: all clean
    labels = {"pipeline": "market-data", "dataset": PROCESSED_MARKET_DATA.name}
    assert sample("pipeline_data_quality_score", labels) == 1.0
    assert 0 < outcome.p95_latency < 60


def test_parquet_objects_sit_in_their_hour_partition_and_read_back_to_the_rows(run):
    objects, table = run["objects"], run["table"]
    assert sorted(objects) == sorted(run["outcome"].lake_keys) and objects
    for key, frame in objects.items():
        hours = {t.replace(minute=0, second=0, microsecond=0, nanosecond=0) for t in frame["time"]}
        assert len(hours) == 1, key
        assert key == PROCESSED_MARKET_DATA.key(hours.pop().to_pydatetime(), key.rsplit("/", 1)[1])
        assert LAKE_KEY.fullmatch(key)
    lake = pd.concat(objects.values()).sort_values(["time", "symbol"]).reset_index(drop=True)
    db = table.sort_values(["time", "symbol"]).reset_index(drop=True)
    assert list(lake.columns) == list(db.columns)
    assert (lake["time"] == db["time"]).all() and (lake["symbol"] == db["symbol"]).all()
    for column in ("price", "volume", *INDICATORS):
        pd.testing.assert_series_equal(lake[column].astype(float), db[column].astype(float), rtol=0, atol=0)


def test_the_run_stops_the_processes_it_started(run):
    pids = run["pids"]
    assert len(pids) == 2, run["pids"]  # the emulator's and the Flink gateway JVM's
    assert not any(pid_alive(pid) for pid in pids)


def test_loader_dead_letters_what_it_cannot_read_and_loads_the_rest(kafka_broker, postgres):
    from confluent_kafka import Producer

    dsn = postgres.create_database(unique_name("loader"))
    migrations.apply(dsn)
    suffix = "." + unique_name("t")
    topics = market_data_topics(suffix)
    ensure_topics(kafka_broker.bootstrap_servers, topics)
    processed, dead = topics["market-data-processed" + suffix], topics.dead_letter("market-data")
    now = int(time.time() * 1000)
    good = {"symbol": "ACME", "timestamp": now, "price": 12.5, "volume": 100, "source": "test"}
    good |= {"sma_20": 12.25, "processed_at": datetime.now(UTC).isoformat()}
    bad = [b"{not json", orjson.dumps({**good, "processed_at": None}), orjson.dumps({**good, "price": -1})]
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for value in [orjson.dumps(good), *bad, orjson.dumps(good)]:  # the replay is a key duplicate
        producer.produce(processed.name, value=value, key=b"ACME")
    assert producer.flush(30) == 0
    rows: list[tuple] = []
    loader = TableLoader(
        kafka_broker.bootstrap_servers,
        dsn,
        LOADS["market-data-processed"],
        processed,
        dead,
        group=unique_name("g"),
        on_rows=lambda loaded: rows.extend(loaded.rows),
    )
    stop = threading.Event()
    stop.set()  # read what is there, then return

    stats = loader.run(stop)

    assert (stats.consumed, stats.inserted, stats.duplicates, stats.dead_lettered) == (5, 1, 1, 3)
    assert len(rows) == 2 and rows[0][COLUMN_SMA_20] == 12.25
    letters = [orjson.loads(m.value()) for m in read_to_end(kafka_broker.bootstrap_servers, dead.name)]
    reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
    assert reasons == ["price", "processed_at", "record"]
    assert all(letter["source"] == LOADS["market-data-processed"].group for letter in letters)


def test_wh_pipeline_prints_the_summary_and_stops_every_service(tmp_path):
    chart = ["--chart", str(tmp_path / "chart.png")]
    proc = subprocess.run(
        [*WH, "--ticks", "2000", *chart], cwd=REPO, capture_output=True, text=True, timeout=400
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    table = dict(re.findall(r"^(\w[\w ,()/-]*?)\s{2,}([\d.]+)", proc.stdout, re.MULTILINE))
    shown = proc.stdout  # with a failing figure
    assert table["produced (synthetic connector)"] == "2000", shown
    assert table["processed (Flink, committed)"] == table["rows in market_data_ts"] == "2000", shown
    assert table["dead letters"] == str(len(pipeline.MALFORMED)), shown
    # Read back from Prometheus: the loader's gauge exactly, the Flink job's counts through its rules.
    # The gauge is the tick suite's score of the batches the lake writer stored (malformed records never
    # reach them); valid / total, dead letters counted, is the run's own figure beside it.
    assert float(table["data quality (PromQL)"]) == pytest.approx(
        float(table["quality score (tick suite, lake)"])
    )
    assert f"(counted: {2000 / 2005:.5f})" in proc.stdout
    assert "target > 0.99: PASS" in proc.stdout
    assert table["Flink ticks emitted (PromQL)"] == "2000", shown
    assert table["Flink dead letters (PromQL)"] == str(len(pipeline.MALFORMED)), shown
    p95, counted = re.search(
        r"^p95 end-to-end latency \(PromQL\)\s+([\d.]+) .*\(counted: ([\d.]+) s\)", proc.stdout, re.M
    ).groups()
    # histogram_quantile interpolates inside the bucket holding the 95th percentile.
    bounds = [0.0, *LATENCY_BUCKETS, float("inf")]
    bucket = next(i for i, bound in enumerate(bounds) if float(counted) <= bound)
    assert bounds[bucket - 1] <= float(p95) <= bounds[bucket]
    assert re.search(r"^  market-data/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/ticks-", proc.stdout, re.M)
    chart = Path(re.search(r"^chart \(price, SMA, Bollinger, RSI\)\s+\S+\s+(\S+)$", proc.stdout, re.M)[1])
    assert chart == tmp_path / "chart.png" and chart.read_bytes().startswith(b"\x89PNG")
    summary = re.search(r"^daily summary (\d{4}-\d\d-\d\d).*\n((?:  .*\n)+)", proc.stdout, re.M)
    assert summary, proc.stdout
    assert re.search(r"^  \S+ +\d+\.\d+ +\d+\.\d+ +\d+\.\d+ +\d+\.\d+ +\d+ ", summary.group(2), re.M)
    assert "daily batch quality (daily_summary)" in proc.stdout
    # the news path: 20 articles from the local NewsAPI, one without a headline
    assert table["news articles (local NewsAPI)"] == "20"
    assert table["scored (news job, committed)"] == table["rows loaded into news_sentiment_ts"] == "19"
    assert table["news dead letters"] == "1"
    # the news job's own counts, pushed and read back through its recording rules; the article without a
    # headline was the connector's dead letter, never the job's
    assert table["news job scored (PromQL)"] == "19"
    assert table["news job dead letters (PromQL)"] == "0"
    assert 0 < float(table["news job p95 to scored (PromQL)"]) < 60
    assert re.search(
        r"^  news/year=\d{4}/month=\d\d/day=\d\d/articles-p\d{4}-\d{19}\.json\.gz$", proc.stdout, re.M
    )
    sentiment = {
        m[1]: (int(m[2]), float(m[3]))
        for m in re.finditer(r"^  ([A-Z.]+)\s+(\d+)\s+([+-][\d.]+)", proc.stdout, re.M)
    }
    assert sentiment["AAPL"][0] == sentiment["MSFT"][0] == sentiment["NVDA"][0] == 3, sentiment
    assert all(-1 <= mean <= 1 for _, mean in sentiment.values())
    pids = _pids(proc.stderr)
    # Kafka, PostgreSQL, Pushgateway, Prometheus, the AWS emulator, a Flink gateway JVM per job, Spark's JVM
    assert len(pids) == 8
    assert not any(pid_alive(pid) for pid in pids)


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
        _, rest = proc.communicate(timeout=90)
    finally:
        proc.kill()
    stderr = "".join(lines) + rest
    assert proc.returncode == 130, stderr[-2000:]
    assert "wh: interrupted" in stderr
    pids = _pids(stderr)
    assert len(pids) == 6
    assert not any(pid_alive(pid) for pid in pids)


def test_pipeline_without_its_jars_names_the_command_that_builds_them(tmp_path):
    env = {**os.environ, "WAARDHAVEN_CACHE": str(tmp_path)}
    proc = subprocess.run(WH, cwd=REPO, capture_output=True, text=True, timeout=60, env=env)

    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("wh pipeline: the kafka jars at ")
    assert "run `python3 -m infra.bootstrap jars`" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_metrics_are_served_on_loopback_and_scraped_for_the_run_only():
    from infra.process import free_port

    port = free_port()
    with local_monitoring(port) as monitoring:
        PipelineMetrics("market-data").quality("served-check", 0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            body = response.read().decode()
        monitoring.prometheus.wait_for_scrape(PIPELINE_SCRAPE_JOB, time.time())
        scraped = monitoring.prometheus.value('pipeline_data_quality_score{dataset="served-check"}')
        # The monitoring chart's helm test, against a Prometheus holding the chart's rule files.
        files = (RULES_FILE, thresholds_file(LOCAL))
        groups = [group["name"] for path in files for group in yaml.safe_load(path.read_text())["groups"]]
        assert "none failing" in probe.prometheus_rules(monitoring.prometheus.url, groups, timeout=10)
        with pytest.raises(probe.ProbeFailed, match="rule groups not loaded: not-a-group"):
            probe.prometheus_rules(monitoring.prometheus.url, [*groups, "not-a-group"], timeout=10)
        listeners = [monitoring.prometheus.port, monitoring.pushgateway.port]
    assert 'pipeline_data_quality_score{dataset="served-check",pipeline="market-data"} 0.5' in body
    assert scraped == 0.5
    for listener in (port, *listeners):  # nothing listens once the run ends
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", listener), timeout=5)


def test_a_pushgateway_starts_empty_after_an_earlier_one_held_pushes():
    """Nothing an earlier run pushed (its Flink counts) is in the next run's gateway: the Debian package's
    default keeps pushes in a file that every gateway started on this machine would load."""

    def push(gateway: Pushgateway) -> None:
        request = urllib.request.Request(
            f"{gateway.url}/metrics/job/{FLINK_SCRAPE_JOB}/flink_job/leak-check",
            data=b"wh_leak_check 1\n",
            method="PUT",
        )
        urllib.request.urlopen(request, timeout=10).close()

    def metrics(gateway: Pushgateway) -> str:
        with urllib.request.urlopen(f"{gateway.url}/metrics", timeout=10) as answer:
            return answer.read().decode()

    with Pushgateway() as earlier:
        push(earlier)
        assert 'wh_leak_check{flink_job="leak-check"' in metrics(earlier)
    with Pushgateway() as later:
        assert "wh_leak_check" not in metrics(later)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (["--ticks", "0"], "argument --ticks: must be at least 1, got 0"),
        (["--rate", "-5"], "argument --rate: must be at least 0, got -5"),
        (["--timeout", "soon"], "argument --timeout: 'soon' is not a number"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(argument, message):
    proc = subprocess.run([*WH, *argument], cwd=REPO, capture_output=True, text=True, timeout=60)

    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == f"wh pipeline: error: {message}"


def test_lake_bucket_writes_into_a_running_emulator_creating_the_bucket_only_if_missing(capsys):
    bucket = "waardhaven-local-processed-data"  # the data-lake stack's name for it in `local`
    with AwsEmulator() as aws:
        with pipeline.lake_bucket(aws.endpoint) as (s3, name):
            assert name == bucket
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
            s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
        first = capsys.readouterr().err
        with pipeline.lake_bucket(aws.endpoint) as (s3, _):  # as after `wh deploy local`: it exists
            assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["kept"]
        second = capsys.readouterr().err
    assert f"created bucket {bucket}" in first
    assert "created bucket" not in second
    assert "(pid" not in first + second  # no emulator of its own


def test_lake_bucket_names_an_emulator_that_does_not_answer():
    from infra.process import ServiceError, free_port

    with pytest.raises(ServiceError, match="is not answering: start one with `bin/wh emulator`"):
        with pipeline.lake_bucket(f"http://127.0.0.1:{free_port()}"):
            pass
