"""The run's picture: the busiest symbol's price, SMA 20/50, Bollinger bands and RSI 14 (market_data_ts)."""

from __future__ import annotations

import struct

import psycopg
import pytest

from app.local import price_chart

pytestmark = pytest.mark.integration


def test_the_chart_of_the_busiest_symbol_is_a_png(pipeline_run, tmp_path):
    table = pipeline_run["table"]
    busiest = table["symbol"].value_counts()
    assert busiest.iloc[0] > 50, "a symbol must fill the SMA 50 window for the chart to show it"

    path, symbol = price_chart.draw(pipeline_run["dsn"], tmp_path / "out" / "chart.png")

    assert symbol in set(busiest[busiest == busiest.iloc[0]].index)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (1210, 715)  # 11 x 6.5 inches at 110 dpi


def test_an_empty_table_is_refused_by_name(postgres, tmp_path):
    from app import migrations
    from tests.conftest import unique_name

    dsn = postgres.create_database(unique_name("chart"))
    migrations.apply(dsn)
    with psycopg.connect(dsn) as conn:
        assert price_chart.busiest_symbol(conn) is None
    with pytest.raises(ValueError, match="market_data_ts is empty: nothing to draw"):
        price_chart.draw(dsn, tmp_path / "chart.png")
