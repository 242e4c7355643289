"""The p95 latency each processing stage is alerted above, per environment: the requirements' 5 s target
(app/metrics.py LATENCY_TARGET_SECONDS) plus the waits that environment's own Flink settings
(app/flink/jobs.yaml) put in every record's way, so an alert means something is slow, not that the
settings are what they are.

- market-data `indicators` (event time -> emitted with indicators): + out_of_orderness, the time a tick
  waits for the watermark before its symbol's indicators can be computed in order.
- market-data `end_to_end` (event time -> row in the database): + the checkpoint interval too. The job's
  Kafka sink writes in transactions committed on checkpoint and the loader reads read_committed, so a tick
  becomes visible only when the checkpoint after it completes: in prod (5 s + 30 s) the 5 s target cannot
  be met end to end, only stage by stage.
- every other stage (`produce`, `load`, the news job's `sentiment`): the target.
- `end_to_end` of the other loads is not alerted on: their event time is the vendor's publication time (an
  article, a filing, a monthly statistic), so it measures the vendor's delay, not the pipeline's.

Each environment's thresholds are recording rules (`THRESHOLD`, one per pipeline and stage above the
target), rendered by app/monitoring/chart.py into files/latency-thresholds/<env>.yaml of the monitoring chart;
the chart carries its environment's file and the alert compares the p95 with it (app/monitoring/rules.py).
"""

from __future__ import annotations

from app import metrics
from app.flink import config, market_data
from app.sinks.timescale import END_TO_END

THRESHOLD = "pipeline:processing_latency_seconds:p95_threshold"


def thresholds(env: str) -> dict[tuple[str, str], float]:
    """(pipeline, stage) -> seconds, for the stages whose threshold is above the target."""
    settings = config.settings(env)
    target = metrics.LATENCY_TARGET_SECONDS
    waits_for_watermark = settings.market_data.out_of_orderness / 1000
    commit_wait = settings.checkpoint.interval / 1000
    return {
        (market_data.PIPELINE, market_data.LATENCY_STAGE): target + waits_for_watermark,
        (market_data.PIPELINE, END_TO_END): target + waits_for_watermark + commit_wait,
    }


def threshold_rules(env: str) -> list[dict]:
    return [
        {
            "record": THRESHOLD,
            "expr": f"vector({seconds:g})",
            "labels": {"pipeline": pipeline, "stage": stage},
        }
        for (pipeline, stage), seconds in sorted(thresholds(env).items())
    ]
