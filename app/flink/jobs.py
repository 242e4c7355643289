"""The stream jobs of this package by name, each a module with `table_configuration(settings)`,
`build(tables, settings, bootstrap_servers, udf_jar_uri, topic_suffix)`, and what it reads and
writes: PIPELINE, RAW_TOPIC, PROCESSED_TOPIC, `consumer_group(settings)`, TRANSACTIONAL_ID_PREFIX.
The cluster entry point (app/flink/cluster.py) and the local runtime (app/local/flink_jobs.py) both
start them from here."""

from app.flink import market_data, news

JOBS = {"market-data": market_data, "news": news}


def job_name(job: str) -> str:
    """The Flink job's name (`pipeline.name`): its metrics' `job_name` label, locally and in the cluster."""
    return f"waardhaven-{job}"
