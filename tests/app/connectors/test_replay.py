"""Replay from CSV, JSON Lines and Parquet into the real broker: every row once, in file order per symbol,
across a stop and restart; bad rows to the dead letter; recorded speed respected."""

from __future__ import annotations

import asyncio
import csv
import time

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.connectors.config import SourceConfig, load_sources
from app.connectors.cursor import CursorStore
from app.connectors.replay import ReplayOptions
from app.connectors.runtime import Connector
from tests.app.connectors.kafka_helpers import isolated_topics, read_all, values

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
T0 = int(time.time() * 1000) - 60_000


def rows(n: int) -> list[dict]:
    return [
        {
            "type": "tick",
            "symbol": ["AAPL", "MSFT"][i % 2],
            "timestamp": T0 + i * 10,
            "price": 100.0 + i,
            "volume": 100 + i,
            "source": "replay",
        }
        for i in range(n)
    ]


def write(path, fmt: str, data: list[dict]) -> None:
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(data), path)
    elif fmt == "jsonl":
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in data) + b"\n{not json\n")
    else:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(data[0]))
            writer.writeheader()
            writer.writerows(data)
            writer.writerow({**data[-1], "price": "NaN"})


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_replay_file_formats_once_in_order_across_restart(fmt, kafka_broker, tmp_path):
    bootstrap = kafka_broker.bootstrap_servers
    topics, suffix = isolated_topics(bootstrap)
    path = tmp_path / f"ticks.{fmt}"
    data = rows(400)
    write(path, fmt, data)
    config, csv_options = load_sources()["replay_ticks"]
    mapping = csv_options.mapping if fmt == "csv" else None
    options = ReplayOptions(
        path=path, speed=2.0, batch_size=50, mapping=mapping
    )  # 4 s of recorded time at 2x

    async def scenario():
        first = Connector(
            config, options, bootstrap, CursorStore(tmp_path / "state"), topics=topics, topic_suffix=suffix
        )
        task = asyncio.create_task(first.run())
        await asyncio.sleep(0.8)
        first.stop()
        await task
        started = time.monotonic()
        second = Connector(
            config, options, bootstrap, CursorStore(tmp_path / "state"), topics=topics, topic_suffix=suffix
        )
        await second.run()  # ends with the file
        return first.producer.delivered_total, time.monotonic() - started

    first_part, rest_seconds = asyncio.run(scenario())
    assert 0 < first_part < len(data)
    assert rest_seconds > 0.5  # paced at recorded speed, not dumped
    got = values(read_all(bootstrap, "market-data-raw" + suffix, expect=len(data)))
    for symbol in ("AAPL", "MSFT"):
        assert [r["price"] for r in got if r["symbol"] == symbol] == [
            r["price"] for r in data if r["symbol"] == symbol
        ]
    bad_rows = 0 if fmt == "parquet" else 1  # a NaN price in the CSV, a broken line in the JSONL
    dead = values(read_all(bootstrap, "market-data-dead-letter" + suffix, expect=bad_rows))
    assert len(dead) == bad_rows
    assert all("malformed JSON" in d["reason"] or "finite number" in d["reason"] for d in dead), dead


def test_replay_needs_a_known_format(tmp_path):
    options = ReplayOptions(path=tmp_path / "ticks.xlsx")
    with pytest.raises(ValueError, match="cannot tell the format"):
        options.file_format()
    assert SourceConfig(name="r", adapter="replay", topic="market-data-raw").adapter == "replay"
