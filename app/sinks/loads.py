"""Which topic is stored where: every topic that no stream job consumes (and every job's output) has a load,
one consumer group writing its table and its lake dataset with the same guarantees (app/sinks/timescale.py,
app/sinks/lake.py). The topics the stream jobs read (market-data-raw, news-raw) reach storage through
their jobs' outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.schemas import tables
from app.schemas.tables import Table
from app.sinks import lake_layout
from app.sinks.lake_layout import Dataset


@dataclass(frozen=True)
class Load:
    topic: str  # in the catalog (app/catalog/topics.yaml); its schema is the table's
    table: Table
    dataset: Dataset
    group: str  # the consumer group: its committed offsets are what is stored
    stem: str  # lake objects are named <stem>-p<partition>-<first offset>.<parquet | json.gz>


LOADS = {
    load.topic: load
    for load in (
        Load(
            "market-data-processed", tables.TICKS, lake_layout.PROCESSED_MARKET_DATA, "tick-loader", "ticks"
        ),
        Load("news-sentiment-stream", tables.NEWS_SENTIMENT, lake_layout.NEWS, "news-loader", "articles"),
        Load(
            "insider-trading-events",
            tables.INSIDER_TRADES,
            lake_layout.INSIDER_TRADING,
            "insider-loader",
            "trades",
        ),
        Load(
            "economic-indicators",
            tables.ECONOMIC_INDICATORS,
            lake_layout.ECONOMIC_INDICATORS,
            "economic-loader",
            "observations",
        ),
        Load("social-raw", tables.SOCIAL_POSTS, lake_layout.SOCIAL, "social-loader", "posts"),
        Load(
            "company-metrics",
            tables.COMPANY_METRICS,
            lake_layout.COMPANY_METRICS,
            "metrics-loader",
            "metrics",
        ),
    )
}
