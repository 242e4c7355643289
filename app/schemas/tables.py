"""The stored form of every consumed topic: its database table (sql/) and the row a record becomes there, in
column order. The database loader COPYs these rows (app/sinks/timescale.py) and the Parquet lake writer
takes its Arrow schema from the same columns (app/sinks/lake.py); which topic goes to which table and lake
dataset is app/sinks/loads.py.

A column's kind is one of "timestamp" (UTC, millisecond), "string", "float", "integer" or "strings" (a
list of text, a VARCHAR[] column). The first column is the record's time: the lake partitions by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app import schemas
from app.schemas import (
    CompanyMetric,
    EconomicIndicator,
    InsiderTrade,
    Record,
    ScoredArticle,
    SocialPost,
)
from app.schemas.dicts import dicts
from app.schemas.processed import TICK_ROW, tick_row

Column = tuple[str, str]


@dataclass(frozen=True)
class Table:
    name: str  # the database table
    schema: str  # the app.schemas name of the records it stores
    columns: tuple[Column, ...]
    row: Callable[[Record], tuple] | Callable[[Mapping], tuple]
    as_dict: bool = False  # `row` takes the record as the dict of its fields (app/schemas/dicts.py)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def validator(self) -> Callable[[bytes], Record | Mapping]:
        """Validates a record's JSON into what `row` takes; raises pydantic's ValidationError."""
        reading = dicts(self.schema) if self.as_dict else schemas.adapter(self.schema)
        return reading.validator.validate_json


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _article_row(a: ScoredArticle) -> tuple:
    return (
        utc(a.published_at),
        a.id,
        a.symbols_mentioned,
        a.sentiment_score,
        a.sentiment_category,
        a.categories[0],
        a.source,
    )


def _insider_row(t: InsiderTrade) -> tuple:
    return (
        utc(t.timestamp),
        t.filing_id,
        t.symbol,
        t.insider_name,
        t.insider_title,
        t.transaction_type,
        t.shares,
        t.price,
        t.total_value,
        utc(t.filed_at),
        t.source,
    )


def _indicator_row(i: EconomicIndicator) -> tuple:
    return (utc(i.timestamp), i.series_id, i.value, i.unit, i.frequency, i.source)


def _post_row(p: SocialPost) -> tuple:
    return (
        utc(p.created_at),
        p.id,
        p.platform,
        p.community,
        p.author,
        p.title,
        p.text,
        p.url,
        p.score,
        p.symbols_mentioned,
        p.source,
    )


def _metric_row(m: CompanyMetric) -> tuple:
    return (utc(m.timestamp), m.symbol, m.metric, m.value, m.period, m.unit, m.source)


# The loader's hot path: a tick read as a dict costs half its model (app/schemas/dicts.py).
TICKS = Table("market_data_ts", "processed_tick", TICK_ROW, tick_row, as_dict=True)
# sql/002_news_and_insider.sql with 006_every_topic_stored.sql: the brief's columns; the news category is the
# job's one category of the article.
NEWS_SENTIMENT = Table(
    "news_sentiment_ts",
    "scored_article",
    (
        ("time", "timestamp"),
        ("article_id", "string"),
        ("symbols", "strings"),
        ("sentiment_score", "float"),
        ("sentiment_category", "string"),
        ("news_category", "string"),
        ("source", "string"),
    ),
    _article_row,
)
INSIDER_TRADES = Table(
    "insider_trading_ts",
    "insider_trade",
    (
        ("time", "timestamp"),
        ("filing_id", "string"),
        ("symbol", "string"),
        ("insider_name", "string"),
        ("insider_title", "string"),
        ("transaction_type", "string"),
        ("shares", "integer"),
        ("price", "float"),
        ("total_value", "float"),
        ("filed_at", "timestamp"),
        ("data_source", "string"),
    ),
    _insider_row,
)
ECONOMIC_INDICATORS = Table(
    "economic_indicators_ts",
    "economic_indicator",
    (
        ("time", "timestamp"),
        ("series_id", "string"),
        ("value", "float"),
        ("unit", "string"),
        ("frequency", "string"),
        ("data_source", "string"),
    ),
    _indicator_row,
)
SOCIAL_POSTS = Table(
    "social_posts_ts",
    "social_post",
    (
        ("time", "timestamp"),
        ("post_id", "string"),
        ("platform", "string"),
        ("community", "string"),
        ("author", "string"),
        ("title", "string"),
        ("body", "string"),
        ("url", "string"),
        ("score", "integer"),
        ("symbols", "strings"),
        ("data_source", "string"),
    ),
    _post_row,
)
COMPANY_METRICS = Table(
    "company_metrics_ts",
    "company_metric",
    (
        ("time", "timestamp"),
        ("symbol", "string"),
        ("metric", "string"),
        ("value", "float"),
        ("period", "string"),
        ("unit", "string"),
        ("data_source", "string"),
    ),
    _metric_row,
)
TABLES = (TICKS, NEWS_SENTIMENT, INSIDER_TRADES, ECONOMIC_INDICATORS, SOCIAL_POSTS, COMPANY_METRICS)
