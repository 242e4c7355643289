"""The stream jobs of this package by name, each a module with `table_configuration(settings)`,
`build(tables, settings, bootstrap_servers, udf_jar_uri, topic_suffix)`, and what it reads and
writes: PIPELINE, RAW_TOPIC, PROCESSED_TOPIC, `consumer_group(settings)`, `parallelism(settings)`,
TRANSACTIONAL_ID_PREFIX, and the stage its latency histogram times (LATENCY_STAGE) with the unit of that
histogram's sum in seconds (LATENCY_SUM_UNIT: Java operators sum seconds, a Python UDF milliseconds,
app/flink/udf_metrics.py).
The cluster entry point (app/flink/cluster.py) and the local runtime (app/local/flink_jobs.py) both
start them from here."""

from app.flink import market_data, news

JOBS = {"market-data": market_data, "news": news}


def job_name(job: str) -> str:
    """The Flink job's name (`pipeline.name`): its metrics' `job_name` label, locally and in the cluster."""
    return f"waardhaven-{job}"
