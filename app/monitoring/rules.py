"""The Prometheus rules of the pipeline: the Flink jobs' pipeline metrics (app/monitoring/flink.py), the
latency and uptime SLIs, and the alerts on the requirements' targets (app/metrics.py).

One rule file, `rule_file()`, and per environment the latency thresholds (app/monitoring/latency.py): the
chart's PrometheusRule carries both (charts/waardhaven-monitoring), the local Prometheus loads both, and
`promtool test rules` runs tests/app/monitoring/promtool/ against them.

Uptime SLO (99.9 %): the share of time a pipeline's Flink job runs, alerted on by its error-budget burn
rate over two window pairs each (the multi-window, multi-burn-rate alerts of Google's SRE workbook): a
page when 2 % of a 30-day budget burns in an hour (14.4x) or 5 % in six hours (6x), a ticket at 10 % in a
day (3x) or 10 % in three days (1x); the short window of each pair ends the alert soon after the burn stops.
"""

from __future__ import annotations

import yaml

from app import kafka_client, metrics
from app.monitoring import flink, latency
from app.sinks.timescale import END_TO_END

LATENCY_P95 = "pipeline:processing_latency_seconds:p95_rate5m"
UPTIME_ERRORS = "pipeline:uptime_errors:ratio_avg{window}"
ERROR_BUDGET = round(1 - metrics.UPTIME_TARGET, 6)
# (severity, long window, short window, burn rate): a 30-day budget spent 14.4x as fast is gone in 2 days.
BURN_RATE_ALERTS = (
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6),
    ("ticket", "1d", "2h", 3),
    ("ticket", "3d", "6h", 1),
)
WINDOWS = sorted(
    {w for _, long, short, _ in BURN_RATE_ALERTS for w in (long, short)}, key=lambda w: (w[-1], int(w[:-1]))
)


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def slo_rules() -> list[dict]:
    latency = (
        f"histogram_quantile(0.95, sum by (pipeline, stage, le) "
        f"(rate({metrics.PROCESSING_LATENCY_SECONDS}_bucket[5m])))"
    )
    return [
        {"record": LATENCY_P95, "expr": latency},
        *(
            {
                "record": UPTIME_ERRORS.format(window=window),
                "expr": f"1 - avg_over_time({flink.JOB_RUNNING}[{window}])",
            }
            for window in WINDOWS
        ),
    ]


def _burn_rate_alerts() -> list[dict]:
    alerts = []
    for severity in ("page", "ticket"):
        pairs = [(long, short, rate) for sev, long, short, rate in BURN_RATE_ALERTS if sev == severity]
        expr = " or ".join(
            f"({UPTIME_ERRORS.format(window=long)} > {rate * ERROR_BUDGET:g} and "
            f"{UPTIME_ERRORS.format(window=short)} > {rate * ERROR_BUDGET:g})"
            for long, short, rate in pairs
        )
        spans = ", ".join(f"{rate:g}x over {long} and {short}" for long, short, rate in pairs)
        alerts.append(
            _alert(
                f"PipelineUptimeBudgetBurn{'Fast' if severity == 'page' else 'Slow'}",
                expr,
                "2m" if severity == "page" else "15m",
                severity,
                "{{ $labels.pipeline }} is burning its 99.9% uptime error budget",
                f"The {{{{ $labels.pipeline }}}} Flink job is down often enough to spend its 30-day error "
                f"budget early (burn rate above {spans}).",
            )
        )
    return alerts


def alert_rules() -> list[dict]:
    processed, quality = metrics.MESSAGES_PROCESSED_TOTAL, metrics.DATA_QUALITY_SCORE_NAME
    depth, quota = metrics.QUEUE_DEPTH_NAME, metrics.QUOTA_REMAINING_NAME
    dead_letter_budget = round(1 - metrics.QUALITY_TARGET, 6)
    return [
        _alert(
            "PipelineLatencyP95High",
            f"({LATENCY_P95} > on (pipeline, stage) {latency.THRESHOLD}) or "
            f'({LATENCY_P95}{{stage!="{END_TO_END}"}} unless on (pipeline, stage) {latency.THRESHOLD}) '
            f"> {metrics.LATENCY_TARGET_SECONDS:g}",
            "10m",
            "page",
            "{{ $labels.pipeline }}/{{ $labels.stage }}: p95 latency above its threshold",
            "The p95 latency of {{ $labels.pipeline }}'s {{ $labels.stage }} stage has been "
            "{{ $value | humanizeDuration }} for 10 minutes (threshold: the 5 s target plus the waits this "
            "environment's Flink settings impose, app/monitoring/latency.py).",
        ),
        _alert(
            "PipelineDataQualityLow",
            f"{quality} < {metrics.QUALITY_TARGET:g}",
            "5m",
            "ticket",
            "{{ $labels.pipeline }}/{{ $labels.dataset }}: data quality below 99%",
            "The quality score of {{ $labels.dataset }} is {{ $value | humanizePercentage }} (target > 99%); "
            "the records go on, the bad ones to the dead-letter topic.",
        ),
        _alert(
            "PipelineDeadLetterRateHigh",
            f'sum by (job, pipeline, topic) (rate({processed}{{status="{metrics.DEAD_LETTER}"}}[10m])) '
            f"/ sum by (job, pipeline, topic) (rate({processed}[10m])) > {dead_letter_budget:g}",
            "10m",
            "ticket",
            "{{ $labels.pipeline }}: more than 1% of {{ $labels.topic }} dead-lettered",
            "{{ $value | humanizePercentage }} of the records of {{ $labels.topic }} ({{ $labels.job }}) "
            "went to the dead-letter topic over 10 minutes; read their reasons there.",
        ),
        _alert(
            "PipelineConsumerLagGrowing",
            f"{depth} > 0 and min_over_time(deriv({depth}[5m])[15m:1m]) > 0",
            "5m",
            "ticket",
            "{{ $labels.pipeline }}: {{ $labels.queue }} backlog growing",
            "{{ $value }} records wait in {{ $labels.queue }} and the backlog has grown all of the last "
            "15 minutes: the consumer does not keep up.",
        ),
        _alert(
            "FlinkJobNotRunning",
            f"{flink.JOB_RUNNING} == 0",
            "2m",
            "page",
            "{{ $labels.pipeline }}: its Flink job is not running",
            "No job manager reports the {{ $labels.pipeline }} job running (restarting, failed, or gone).",
        ),
        _alert(
            "FlinkCheckpointsFailing",
            f"sum by (namespace, job_name) (increase({flink.FAILED_CHECKPOINTS}[15m])) > 0",
            "0m",
            "ticket",
            "{{ $labels.job_name }}: checkpoints failing",
            "{{ $value }} checkpoints of {{ $labels.job_name }} failed in 15 minutes; exactly-once output "
            "waits for the next completed one.",
        ),
        _alert(
            "FlinkCheckpointsStalled",
            f"max by (namespace, job_name) ({flink.UPTIME} > 900000) "
            f"unless max by (namespace, job_name) (increase({flink.COMPLETED_CHECKPOINTS}[15m]) > 0)",
            "5m",
            "page",
            "{{ $labels.job_name }}: no checkpoint completed in 15 minutes",
            "{{ $labels.job_name }} runs but completes no checkpoint: its Kafka transactions stay open, its "
            "output is not visible to read_committed readers.",
        ),
        _alert(
            "ConnectorQuotaExhausted",
            f"{quota} == 0",
            "1m",
            "ticket",
            "{{ $labels.source }}: vendor quota spent",
            "{{ $labels.source }} has no requests left in its vendor's quota window: it waits for the reset "
            "or stops (quota.max_wait).",
        ),
        _alert(
            "PipelineTargetDown",
            f'up{{namespace="{kafka_client.NAMESPACE}"}} == 0',
            "5m",
            "page",
            "{{ $labels.job }}/{{ $labels.pod }}: metrics not scraped",
            "Prometheus cannot scrape {{ $labels.pod }} in {{ $labels.namespace }}: the component is down or "
            "not serving /metrics.",
        ),
        *_burn_rate_alerts(),
    ]


def groups() -> list[dict]:
    return [
        {"name": "pipeline-flink", "rules": flink.recording_rules()},
        {"name": "pipeline-slo", "rules": slo_rules()},
        {"name": "pipeline-alerts", "rules": alert_rules()},
    ]


def rule_file() -> str:
    """The rule file as Prometheus and promtool read it (the spec of the chart's PrometheusRule)."""
    return yaml.safe_dump({"groups": groups()}, sort_keys=False, width=10_000)
