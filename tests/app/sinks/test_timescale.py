"""The database loader on the session's Kafka broker and PostgreSQL 15: one row per trade (the identity the
stream job dedups on), replays written once, and every size the schema allows fits its column."""

from __future__ import annotations

import psycopg
import pytest

from app.schemas import MIN_TIMESTAMP_MS
from app.schemas.processed import TICK_COLUMNS
from tests.app.sinks.loading import Loading, processed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def loading(kafka_broker, postgres) -> Loading:
    return Loading(kafka_broker, postgres)


def test_distinct_trades_in_one_millisecond_are_each_a_row(loading):
    ms = MIN_TIMESTAMP_MS + 1_000
    trades = [
        processed("ACME", ms, 10.0, trade_id="T-1"),  # the vendor's trade id tells them apart ...
        processed("ACME", ms, 10.0, trade_id="T-2"),
        processed("ACME", ms, 10.0, sequence=7),  # ... else its sequence ...
        processed("ACME", ms, 10.0, sequence=8),
        processed("ACME", ms, 10.0, volume=5),  # ... else price and volume
        processed("ACME", ms, 10.5, volume=5),
        processed("ACME", ms, 10.0, volume=6),
    ]
    handed_on: list[tuple] = []

    stats = loading.load(trades, on_rows=lambda loaded: handed_on.extend(loaded.rows))

    rows = loading.rows()
    assert (stats.inserted, stats.duplicates, len(rows)) == (7, 0, 7)
    assert len(handed_on) == 7
    keys = sorted(row["trade_key"] for row in rows)
    assert keys == sorted(row[TICK_COLUMNS.index("trade_key")] for row in handed_on)
    assert keys[:4] == ["id:T-1", "id:T-2", "pv:10.0/5", "pv:10.0/6"]


def test_a_replayed_trade_is_written_once_and_counted_as_a_duplicate(loading):
    ms = MIN_TIMESTAMP_MS + 2_000
    trades = [processed("ACME", ms, 10.0, trade_id="T-1"), processed("ACME", ms, 10.0, sequence=3)]
    first = loading.load(trades)

    again = loading.load(trades)  # the same trades once more (a producer retry upstream)

    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates) == (0, 2)
    assert len(loading.rows()) == 2


def test_a_batch_mixing_replayed_and_new_trades_stores_the_new_ones(loading):
    ms = MIN_TIMESTAMP_MS + 3_000
    old = [processed("ACME", ms, 10.0, trade_id="T-1")]
    new = [processed("ACME", ms, 10.0, trade_id="T-2"), processed("ACME", ms + 1, 10.0, trade_id="T-1")]
    loading.load(old)
    # The group's offsets are past `old`: a loader of a new group reads all three in one batch, and its
    # COPY into the table fails on T-1's key, so the batch takes the ON CONFLICT path.
    loading.group += "-replay"

    replay = loading.load(new, batch_size=10)

    assert (replay.consumed, replay.inserted, replay.duplicates) == (3, 2, 1)
    stored = sorted((row["trade_key"], int(row["time"].timestamp() * 1000)) for row in loading.rows())
    assert stored == [("id:T-1", ms), ("id:T-1", ms + 1), ("id:T-2", ms)]


def test_sizes_up_to_the_schema_maximum_fit_their_columns(loading):
    largest = 10**15 - 1  # app.schemas.Size
    record = processed(
        "BRK.B-ABCDEFGHIJKLMNO"[:20],  # app.schemas.Symbol: 20 characters
        MIN_TIMESTAMP_MS + 3_000,
        999_999.9999,  # app.schemas.Price: below 1,000,000 at decimal(10,4)
        volume=largest,
        bid=999_999.9999,
        ask=999_999.9999,
        bid_size=largest,
        ask_size=largest,
        source="s" * 500,  # app.schemas.ShortText
        trade_id="t" * 128,
    )

    stats = loading.load([record])

    assert (stats.inserted, stats.dead_lettered) == (1, 0)
    [row] = loading.rows()
    assert row["symbol"] == record["symbol"]
    assert float(row["price"]) == float(row["bid"]) == float(row["ask"]) == 999_999.9999
    assert row["volume"] == row["bid_size"] == row["ask_size"] == largest
    assert row["data_source"] == record["source"]
    assert row["trade_key"] == "id:" + record["trade_id"]


def test_table_columns_are_the_row_the_sinks_write(loading):
    with psycopg.connect(loading.dsn) as conn:
        cur = conn.execute("SELECT * FROM market_data_ts LIMIT 0")
        assert tuple(column.name for column in cur.description) == TICK_COLUMNS
