"""The Grafana dashboards of the pipeline, as data: pipeline overview, Flink jobs, Kafka lag, data quality,
storage cost. `dashboards()` gives each one's JSON model; the chart provisions them as ConfigMaps that
kube-prometheus-stack's Grafana sidecar loads (label grafana_dashboard: "1").

Every query names its metrics through app/metrics.py, app/monitoring/flink.py and rules.py, and
tests/app/monitoring/test_dashboards.py runs each one on the local Prometheus after a pipeline run.
Panel queries may use Grafana's `$__rate_interval` and nothing else of Grafana's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app import metrics
from app.monitoring import flink, rules, storage_cost

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
PROCESSED, LATENCY = metrics.MESSAGES_PROCESSED_TOTAL, metrics.PROCESSING_LATENCY_SECONDS
QUALITY, DEPTH = metrics.DATA_QUALITY_SCORE_NAME, metrics.QUEUE_DEPTH_NAME
LAKE = metrics.LAKE_BYTES_WRITTEN_TOTAL
GIB = 2**30


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"
    thresholds: tuple[tuple[float, str], ...] = ()  # (from value, colour) above the base colour


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)

    def model(self) -> dict:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["waardhaven", "pipeline"],
            "schemaVersion": 39,
            "editable": False,
            "time": {"from": "now-6h", "to": "now"},
            "refresh": "30s",
            "templating": {
                "list": [
                    {
                        "name": "datasource",
                        "label": "Prometheus",
                        "type": "datasource",
                        "query": "prometheus",
                        "current": {"text": "Prometheus", "value": "prometheus"},
                    }
                ]
            },
            "panels": [_panel(index, panel) for index, panel in enumerate(self.panels)],
        }


def _panel(index: int, panel: Panel) -> dict:
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in panel.thresholds]
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {"datasource": DATASOURCE, "expr": q.expr, "legendFormat": q.legend, "refId": chr(ord("A") + i)}
            for i, q in enumerate(panel.queries)
        ],
    }


def _p95(by: str, selector: str = "") -> str:
    return f"histogram_quantile(0.95, sum by ({by}, le) (rate({LATENCY}_bucket{selector}[{RATE}])))"


def _overview() -> Dashboard:
    return Dashboard(
        "waardhaven-pipeline-overview",
        "Pipeline overview",
        "Throughput, p95 latency, data quality and uptime of every pipeline against the targets.",
        (
            Panel(
                "Messages processed per second",
                (Query(f"sum by (pipeline, status) (rate({PROCESSED}[{RATE}]))", "{{pipeline}} {{status}}"),),
                unit="ops",
            ),
            Panel(
                "p95 processing latency by stage (target < 5 s end to end)",
                (Query(_p95("pipeline, stage"), "{{pipeline}} {{stage}}"),),
                unit="s",
                thresholds=((metrics.LATENCY_TARGET_SECONDS, "red"),),
            ),
            Panel(
                "Data quality score (target > 99 %)",
                (Query(f"min by (pipeline, dataset) ({QUALITY})", "{{pipeline}} {{dataset}}"),),
                unit="percentunit",
            ),
            Panel(
                "Flink job running (uptime SLI, target 99.9 %)",
                (Query(flink.JOB_RUNNING, "{{pipeline}}"),),
                description="1 while the pipeline's Flink job runs; the uptime error budget burns at 0.",
            ),
            Panel(
                "Uptime error-budget burn rate (1 h)",
                (
                    Query(
                        f"{rules.UPTIME_ERRORS.format(window='1h')} / {rules.ERROR_BUDGET:g}", "{{pipeline}}"
                    ),
                ),
                description="1 spends a 30-day budget in 30 days; the fast-burn page fires above 14.4.",
                thresholds=((14.4, "red"),),
            ),
            Panel(
                "Dead-lettered share of records",
                (
                    Query(
                        f'sum by (pipeline, topic) (rate({PROCESSED}{{status="{metrics.DEAD_LETTER}"}}'
                        f"[{RATE}])) "
                        f"/ sum by (pipeline, topic) (rate({PROCESSED}[{RATE}]))",
                        "{{pipeline}} {{topic}}",
                    ),
                ),
                unit="percentunit",
            ),
        ),
    )


def _flink_jobs() -> Dashboard:
    return Dashboard(
        "waardhaven-flink-jobs",
        "Flink jobs",
        "The stream jobs as Flink reports them: uptime, restarts, checkpoints, records, latency.",
        (
            Panel("Uptime", (Query(f"{flink.UPTIME} / 1000", "{{job_name}}"),), unit="s"),
            Panel("Restarts", (Query(f"max by (job_name) ({flink.RESTARTS})", "{{job_name}}"),)),
            Panel(
                "Checkpoints completed and failed",
                (
                    Query(
                        f"sum by (job_name) (increase({flink.COMPLETED_CHECKPOINTS}[{RATE}]))",
                        "{{job_name}} completed",
                    ),
                    Query(
                        f"sum by (job_name) (increase({flink.FAILED_CHECKPOINTS}[{RATE}]))",
                        "{{job_name}} failed",
                    ),
                ),
            ),
            Panel(
                "Last checkpoint duration",
                (Query(f"max by (job_name) ({flink.LAST_CHECKPOINT_DURATION}) / 1000", "{{job_name}}"),),
                unit="s",
            ),
            Panel(
                "Records out of the indicators operator per second",
                (
                    Query(
                        f"sum by (job_name, status) (rate({flink.PROCESSED}[{RATE}]))",
                        "{{job_name}} {{status}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Dead letters per second by reason",
                (Query(f"sum by (job_name, reason) (rate({flink.DEAD_LETTERS}[{RATE}]))", "{{reason}}"),),
                unit="ops",
            ),
            Panel(
                "p95 event time -> indicators emitted",
                (
                    Query(
                        f"histogram_quantile(0.95, sum by (job_name, le) "
                        f"(rate({flink.LATENCY_BUCKET}[{RATE}])))",
                        "{{job_name}}",
                    ),
                ),
                unit="s",
                description="Includes the wait for the watermark (out_of_orderness in app/flink/jobs.yaml).",
            ),
            Panel(
                "Kafka source backlog (records not yet read)",
                (Query(f"sum by (job_name) ({flink.PENDING_RECORDS})", "{{job_name}}"),),
            ),
        ),
    )


def _kafka_lag() -> Dashboard:
    return Dashboard(
        "waardhaven-kafka-lag",
        "Kafka lag",
        "Records waiting per pipeline and queue (consumer lag, producer queues) and how fast it changes.",
        (
            Panel("Queue depth", (Query(f"sum by (pipeline, queue) ({DEPTH})", "{{pipeline}} {{queue}}"),)),
            Panel(
                "Queue depth change per second",
                (Query(f"sum by (pipeline, queue) (deriv({DEPTH}[{RATE}]))", "{{pipeline}} {{queue}}"),),
                description="Positive for long: the consumer does not keep up (PipelineConsumerLagGrowing).",
            ),
            Panel(
                "Consumed vs produced per second",
                (Query(f"sum by (pipeline, topic) (rate({PROCESSED}[{RATE}]))", "{{pipeline}} {{topic}}"),),
                unit="ops",
            ),
        ),
    )


def _data_quality() -> Dashboard:
    return Dashboard(
        "waardhaven-data-quality",
        "Data quality",
        "Quality scores per dataset against the 99 % target, and the dead letters behind them.",
        (
            Panel(
                "Quality score by dataset",
                (Query(f"min by (pipeline, dataset) ({QUALITY})", "{{pipeline}} {{dataset}}"),),
                unit="percentunit",
            ),
            Panel(
                "Datasets below the 99 % target",
                (
                    Query(
                        f"count by (pipeline) ({QUALITY} < {metrics.QUALITY_TARGET:g}) or on() vector(0)",
                        "{{pipeline}}",
                    ),
                ),
                kind="stat",
                thresholds=((1, "red"),),
            ),
            Panel(
                "Records by outcome per second",
                (Query(f"sum by (pipeline, status) (rate({PROCESSED}[{RATE}]))", "{{pipeline}} {{status}}"),),
                unit="ops",
            ),
            Panel(
                "Dead letters by reason (Flink jobs)",
                (Query(f"sum by (reason) ({flink.DEAD_LETTERS})", "{{reason}}"),),
            ),
        ),
    )


def _storage_cost() -> Dashboard:
    ingest = f"sum by (bucket) (rate({LAKE}[{RATE}])) * 86400 / {GIB}"
    price_list = storage_cost.prices()
    coefficients = storage_cost.year_one_cost_per_daily_gib(price_list)

    def cost(plan: str) -> str:
        # A constant per bucket (the cost model's), joined on the bucket label of the measured ingest.
        per_bucket = " or ".join(
            f'label_replace(vector({values[plan]:.6g}), "bucket", "{bucket}", "", "")'
            for bucket, values in coefficients.items()
        )
        return f"({ingest}) * on (bucket) group_left () ({per_bucket})"

    return Dashboard(
        "waardhaven-storage-cost",
        "Storage cost",
        "The lake's ingest per bucket and what a year of it costs in S3, with the lifecycle tiers and all in "
        "STANDARD (app/monitoring/storage_cost.py; `wh cost ENV` for an environment's configured volume).",
        (
            Panel("Lake ingest (GiB per day)", (Query(ingest, "{{bucket}}"),), unit="decgbytes"),
            Panel(
                "First-year S3 storage cost at this ingest rate",
                (
                    Query(cost("tiered"), "{{bucket}} tiered"),
                    Query(cost("standard"), "{{bucket}} all STANDARD"),
                ),
                unit="currencyUSD",
                description=f"Storage only; {price_list.region} prices of {price_list.as_of}.",
            ),
            Panel(
                "Saving of the lifecycle tiers over all STANDARD",
                (Query(f"1 - ({cost('tiered')}) / ({cost('standard')})", "{{bucket}}"),),
                unit="percentunit",
                description="The requirement: storage cost down 20 % a year.",
                thresholds=((0.2, "blue"),),
            ),
        ),
    )


def dashboards() -> dict[str, dict]:
    """file name -> dashboard JSON model."""
    boards = (_overview(), _flink_jobs(), _kafka_lag(), _data_quality(), _storage_cost())
    return {f"{board.uid.removeprefix('waardhaven-')}.json": board.model() for board in boards}


def queries(model: dict) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of a dashboard model."""
    return [(panel["title"], target["expr"]) for panel in model["panels"] for target in panel["targets"]]
