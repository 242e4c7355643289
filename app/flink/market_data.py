"""The market-data job: validate, deduplicate and enrich ticks with exact SMA/RSI/Bollinger indicators.

market-data-raw -> market-data-processed, bad records -> the market-data dead-letter topic with a reason.
The source, parsing and the indicators per symbol in event time are JVM DataStream operators (app/flink/java),
the sinks and the dead-letter envelope Flink SQL (app/flink/sql/market_data.sql): no Python runs per record.
"""

from __future__ import annotations

from app.catalog import catalog
from app.flink.config import JobSettings
from app.flink.scripts import statements
from app.kafka_client import java_client_properties
from app.metrics import bucket_labels
from app.schemas import (
    FUTURE_TOLERANCE_MS,
    ISO_INSTANT_PATTERN,
    MARKET_TYPES,
    MAX_JSON_DEPTH,
    MIN_TIMESTAMP_MS,
    TRADE_ID_MAX_LENGTH,
    PriceTick,
)
from app.schemas.deadletter import RAW_LIMIT

PIPELINE = "market-data"
RAW_TOPIC = "market-data-raw"
PROCESSED_TOPIC = "market-data-processed"
# Both sinks' transactional ids start with it (app/flink/sql: <prefix>-processed, <prefix>-dead-letter).
TRANSACTIONAL_ID_PREFIX = PIPELINE
LATENCY_STAGE = "indicators"  # event time -> emitted with indicators (SymbolIndicators.STAGE)
LATENCY_SUM_UNIT = 1.0
STREAMS_CLASS = "com.waardhaven.flink.MarketDataStreams"
# Source offsets and indicator state are restored by these operator ids: keep them when the job changes.
SOURCE_UID = "market-data-source"
INDICATORS_UID = "market-data-indicators"
FUNCTIONS = {
    "is_dead_letter": "com.waardhaven.flink.IsDeadLetter",
    "dead_letter_envelope": "com.waardhaven.flink.DeadLetterEnvelope",
}
PARTITION_DISCOVERY_MS = 60_000


def _schema_limit(field: str, attribute: str):
    """A constraint of PriceTick's field, so the job validates exactly what the schema declares."""
    for meta in PriceTick.model_fields[field].metadata:
        value = getattr(meta, attribute, None)
        if value is not None:
            return value
    raise LookupError(f"PriceTick.{field} declares no {attribute}")


def tick_rules(settings: JobSettings) -> dict[str, object]:
    """The limits the source's parser checks: app.schemas' tick rules and the job's size cap."""
    return {
        "symbol_pattern": _schema_limit("symbol", "pattern").removeprefix("^").removesuffix("$"),
        "iso_instant_pattern": ISO_INSTANT_PATTERN,
        "other_types": ",".join(t for t in MARKET_TYPES if t != "tick"),
        "max_bytes": settings.market_data.max_message_bytes,
        "max_depth": MAX_JSON_DEPTH,
        "min_event_ms": MIN_TIMESTAMP_MS,
        "max_future_ms": FUTURE_TOLERANCE_MS,
        "max_price": float(_schema_limit("price", "lt")),
        "max_size": _schema_limit("volume", "lt"),
        "max_trade_id_length": TRADE_ID_MAX_LENGTH,
        "max_source_length": _schema_limit("source", "max_length"),
    }


def topics(suffix: str = "") -> dict[str, str]:
    cat = catalog()
    return {
        "raw_topic": cat[RAW_TOPIC].name + suffix,
        "processed_topic": cat[PROCESSED_TOPIC].name + suffix,
        "dead_letter_topic": cat.dead_letter(PIPELINE).name + suffix,
    }


def consumer_group(settings: JobSettings) -> str:
    return settings.market_data.consumer_group


def parallelism(settings: JobSettings) -> int:
    return settings.parallelism


def source_options(settings: JobSettings, bootstrap_servers: str, topic_suffix: str = "") -> dict[str, str]:
    """The options of the job's source (com.waardhaven.flink.TickSource), as strings."""
    md = settings.market_data
    return {
        key: str(value)
        for key, value in {
            **tick_rules(settings),
            "bootstrap_servers": bootstrap_servers,
            "topic": topics(topic_suffix)["raw_topic"],
            "group_id": consumer_group(settings) + topic_suffix,
            "max_partition_fetch_bytes": md.max_partition_fetch_bytes,
            "partition_discovery_ms": PARTITION_DISCOVERY_MS,
            "out_of_orderness_ms": md.out_of_orderness,
            "idle_timeout_ms": md.idle_partition_timeout,
            "alignment_group": f"{PIPELINE}{topic_suffix}",
            "alignment_max_drift_ms": md.watermark_alignment.max_drift,
            "alignment_update_interval_ms": md.watermark_alignment.update_interval,
            # TickSource sets each kafka.<property> on its consumer.
            **{f"kafka.{key}": value for key, value in java_client_properties().items()},
        }.items()
    }


def build(tables, settings: JobSettings, bootstrap_servers: str, udf_jar_uri: str, topic_suffix: str = ""):
    """Register the job's tables and views in `tables`; returns the statement set to execute."""
    for name, java_class in FUNCTIONS.items():
        # USING JAR puts the jar in the table environment's class loader, where the planner compiles, and
        # in the job's jars, from which its tasks load all of app/flink/java.
        tables.execute_sql(
            f"CREATE TEMPORARY SYSTEM FUNCTION {name} AS '{java_class}' LANGUAGE JAVA"
            f" USING JAR '{udf_jar_uri}'"
        )
    source = source_options(settings, bootstrap_servers, topic_suffix)
    _register_streams(tables, udf_jar_uri, settings, source)
    ddl, inserts = statements("market_data.sql", script_values(settings, bootstrap_servers, topic_suffix))
    for statement in ddl:
        tables.execute_sql(statement)
    statement_set = tables.create_statement_set()
    for insert in inserts:
        statement_set.add_insert_sql(insert)
    return statement_set


def script_values(settings: JobSettings, bootstrap_servers: str, topic_suffix: str = "") -> dict[str, object]:
    """The ${name} values of market_data.sql."""
    return {
        **topics(topic_suffix),
        "bootstrap_servers": bootstrap_servers,
        "transaction_timeout_ms": settings.transaction_timeout,
        "transactional_id_prefix": f"{TRANSACTIONAL_ID_PREFIX}{topic_suffix}",
        "dead_letter_source": f"flink:{PIPELINE}",
        "raw_limit": RAW_LIMIT,
    }


def _register_streams(tables, udf_jar_uri: str, settings: JobSettings, source: dict[str, str]) -> None:
    """The views `processed` and `rejected`, from the raw topic through MarketDataStreams (JVM, see its doc).

    The jar is loaded here only to build the job graph; the job's tasks load it from the job's jars, where
    the functions' USING JAR put it.
    """
    from pyflink.java_gateway import get_gateway

    gateway = get_gateway()
    jvm = gateway.jvm
    urls = gateway.new_array(jvm.java.net.URL, 1)
    urls[0] = jvm.java.net.URL(udf_jar_uri)
    loader = jvm.java.net.URLClassLoader(urls, jvm.Thread.currentThread().getContextClassLoader())
    streams_class = jvm.java.lang.Class.forName(STREAMS_CLASS, True, loader)
    streams = streams_class.getDeclaredConstructor(gateway.new_array(jvm.java.lang.Class, 0))
    streams.newInstance(gateway.new_array(jvm.java.lang.Object, 0)).register(
        tables._j_tenv,
        source,
        "processed",
        "rejected",
        SOURCE_UID,
        INDICATORS_UID,
        settings.pipeline_version,
        ",".join(bucket_labels()),
    )


def table_configuration(settings: JobSettings) -> dict[str, str]:
    """Table-layer keys of this job: none, its source's watermarks are set in TickSource."""
    return {}
