"""The news-sentiment job: news-raw -> news-sentiment-stream, bad articles -> the news dead-letter topic.

Each article is validated against app.schemas' Article, then gets its symbols, sentiment score and
category (app/flink/news_analysis.py) in one Python UDF.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from app.catalog import catalog
from app.flink import news_analysis, udf_metrics
from app.flink.config import JobSettings
from app.flink.scripts import statements
from app.schemas import BadRecord, parse_json, validate
from app.schemas.deadletter import envelope

PIPELINE = "news"
RAW_TOPIC = "news-raw"
PROCESSED_TOPIC = "news-sentiment-stream"
DEAD_LETTER_SOURCE = f"flink:{PIPELINE}"
# Both sinks' transactional ids start with it (app/flink/sql: <prefix>-processed, <prefix>-dead-letter).
TRANSACTIONAL_ID_PREFIX = PIPELINE
LATENCY_STAGE = "sentiment"  # ingest -> scored, in the UDF
LATENCY_SUM_UNIT = udf_metrics.LATENCY_SUM_UNIT


@dataclass(frozen=True)
class Analysis:
    """One article's result: `output` for a good one; `reason` (with its `code`) and `dead_letter` for a
    bad one."""

    article_id: str | None
    output: str | None
    reason: str | None = None
    code: str | None = None
    dead_letter: str | None = None

    def row(self) -> dict[str, str | None]:
        """The UDF's result row (ANALYSED_FIELDS)."""
        return {name: getattr(self, name) for name in ANALYSED_FIELDS}


ANALYSED_FIELDS = ("article_id", "output", "reason", "dead_letter")  # what news.sql reads


def analyse(raw: bytes, raw_topic: str, pipeline_version: str, max_bytes: int) -> Analysis:
    try:
        if raw is None:
            raise BadRecord("empty message", "empty_message")
        if len(raw) > max_bytes:
            raise BadRecord(f"message of {len(raw)} bytes over {max_bytes}", "message_too_large")
        article = validate("article", parse_json(raw))
    except BadRecord as exc:
        value, _ = envelope(str(exc), DEAD_LETTER_SOURCE, raw_topic, raw or b"")
        return Analysis(None, None, str(exc), exc.code, value.decode())
    text = f"{article.title}\n{article.content}"
    score = news_analysis.sentiment_score(article.title, article.content)
    symbols = sorted(set(article.symbols_mentioned) | set(news_analysis.extract_symbols(text)))
    output = {
        **article.model_dump(exclude={"sentiment_score", "symbols_mentioned", "categories"}),
        "sentiment_score": score,
        "sentiment_category": news_analysis.sentiment_category(score),
        "symbols_mentioned": symbols,
        "categories": [news_analysis.news_category(article.title, article.content)],
        "processed_at": int(time.time() * 1000),
        "pipeline_version": pipeline_version,
    }
    return Analysis(article.id, orjson.dumps(output).decode())


def topics(suffix: str = "") -> dict[str, str]:
    cat = catalog()
    return {
        "raw_topic": cat[RAW_TOPIC].name + suffix,
        "processed_topic": cat[PROCESSED_TOPIC].name + suffix,
        "dead_letter_topic": cat.dead_letter(PIPELINE).name + suffix,
    }


def _udf(raw_topic: str, pipeline_version: str, max_bytes: int):
    """analyse_article(value, ingested_at): the Analysis row, counting each article in Flink metrics
    (app/flink/udf_metrics.py): success or dead letter by reject code, and ingest -> scored latency (the
    Kafka record's timestamp, which the connector sets when it produces, to now) in stage `sentiment`."""
    from pyflink.common import Row
    from pyflink.table import DataTypes
    from pyflink.table.udf import ScalarFunction, udf

    class AnalyseArticle(ScalarFunction):
        def open(self, function_context):
            group = function_context.get_metric_group()
            self.counts = udf_metrics.RecordCounts(group)
            self.latency = udf_metrics.LatencyCounters(group, LATENCY_STAGE)

        def eval(self, raw: bytes, ingested_at):
            result = analyse(raw, raw_topic, pipeline_version, max_bytes)
            if result.reason is None:
                self.counts.processed()
                if ingested_at is not None:
                    self.latency.observe(time.time() - ingested_at.timestamp())
            else:
                self.counts.dead_letter(result.code)
            return Row(**result.row())

        def is_deterministic(self) -> bool:
            return False  # it counts: the planner must neither fold nor repeat it

    result_type = DataTypes.ROW([DataTypes.FIELD(name, DataTypes.STRING()) for name in ANALYSED_FIELDS])
    return udf(AnalyseArticle(), result_type=result_type)


def consumer_group(settings: JobSettings) -> str:
    return settings.news.consumer_group


def parallelism(settings: JobSettings) -> int:
    return settings.news.parallelism


def build(tables, settings: JobSettings, bootstrap_servers: str, udf_jar_uri: str, topic_suffix: str = ""):
    """Register the job's tables and views in `tables`; returns the statement set (no JVM functions)."""
    names = topics(topic_suffix)
    tables.create_temporary_system_function(
        "analyse_article",
        _udf(names["raw_topic"], settings.pipeline_version, settings.news.max_message_bytes),
    )
    ddl, inserts = statements(
        "news.sql",
        {
            **names,
            "bootstrap_servers": bootstrap_servers,
            "consumer_group": consumer_group(settings) + topic_suffix,
            "transaction_timeout_ms": settings.transaction_timeout,
            "transactional_id_prefix": f"{TRANSACTIONAL_ID_PREFIX}{topic_suffix}",
            "dead_letter_source": DEAD_LETTER_SOURCE,
        },
    )
    for statement in ddl:
        tables.execute_sql(statement)
    statement_set = tables.create_statement_set()
    for insert in inserts:
        statement_set.add_insert_sql(insert)
    return statement_set


def table_configuration(settings: JobSettings) -> dict[str, str]:
    # Process mode: thread mode embeds CPython in the JVM, which does not see a virtualenv's packages
    # (pemja, vaderSentiment). News is a few articles a second, so the extra worker process costs nothing.
    return {"python.execution-mode": "process"}
