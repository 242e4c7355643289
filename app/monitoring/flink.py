"""The Flink jobs' metrics as Flink's Prometheus reporter names them, and the recording rules that turn them
into the pipeline metrics (app/metrics.py) with the requirements' names and labels.

Decision: the jobs count in Flink metrics (app/flink/java: `SymbolIndicators` counts ticks emitted and
replays dropped and times event time -> emission in a `LatencyHistogram`; `IsDeadLetter` counts dead letters
by reason; the news job's Python UDF counts the same names through app/flink/udf_metrics.py), Flink's
Prometheus reporter exports them with Flink's own (checkpoints, uptime, the Kafka source's backlog), and
these recording rules sum the subtasks and give the sums the pipeline metrics' names. Why not the names
themselves: the reporter puts its scope in front of every name (`flink_taskmanager_job_task_operator_...`)
and exports one series per subtask, which Prometheus has to sum anyway. Why not prometheus_client inside the
jobs: that is Python per record, which the market-data job exists to avoid, and in the news job's Python
workers another endpoint per worker to scrape beside the reporter's.

All of a job's subtasks restart together (its keyBy joins them into one failover region), so the sum of
their counters falls to zero on a restart, which rate() and increase() read as the counter reset it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import metrics
from app.flink import jobs, udf_metrics
from app.metrics import DEAD_LETTER, SUCCESS

OPERATOR = "flink_taskmanager_job_task_operator"
# status.<success|duplicate>.messages_processed
PROCESSED = f"{OPERATOR}_status_{udf_metrics.PROCESSED_METRIC}"
# reason.<reason>.dead_letters
DEAD_LETTERS = f"{OPERATOR}_reason_{udf_metrics.DEAD_LETTER_METRIC}"
# A latency histogram in group stage.<stage>
LATENCY = f"{OPERATOR}_stage_{udf_metrics.LATENCY_METRIC}"
LATENCY_BUCKET = f"{OPERATOR}_stage_le_{udf_metrics.LATENCY_METRIC}_bucket"
LATENCY_SUM_MS = f"{OPERATOR}_stage_{udf_metrics.LATENCY_SUM_MS_METRIC}"  # a Python UDF's (in ms)
# The Kafka source's records not yet read (Flink's standard source metric).
PENDING_RECORDS = f"{OPERATOR}_pendingRecords"
# The job manager's, per job.
UPTIME = "flink_jobmanager_job_uptime"  # ms running without interruption; 0 while (re)starting
RESTARTS = "flink_jobmanager_job_numRestarts"
COMPLETED_CHECKPOINTS = "flink_jobmanager_job_numberOfCompletedCheckpoints"
FAILED_CHECKPOINTS = "flink_jobmanager_job_numberOfFailedCheckpoints"
LAST_CHECKPOINT_DURATION = "flink_jobmanager_job_lastCheckpointDuration"  # ms
# Kept by the recorded series: where the job runs (Kubernetes namespace) and who scraped it.
KEEP = "namespace, job"
# Recorded per pipeline: 1 while its Flink job runs, 0 otherwise (also when no job reports at all).
JOB_RUNNING = "pipeline:flink_job_running:max"


@dataclass(frozen=True)
class FlinkJob:
    name: str  # key of app.flink.jobs.JOBS
    pipeline: str
    topic: str  # the topic it reads
    output: str  # the topic its valid records go to (the dataset its quality score is for)
    stage: str  # the stage its latency histogram times
    sum_unit: float  # seconds per unit of that histogram's sum

    @property
    def selector(self) -> str:
        return f'job_name="{jobs.job_name(self.name)}"'


FLINK_JOBS = tuple(
    FlinkJob(
        name,
        module.PIPELINE,
        module.RAW_TOPIC,
        module.PROCESSED_TOPIC,
        module.LATENCY_STAGE,
        module.LATENCY_SUM_UNIT,
    )
    for name, module in jobs.JOBS.items()
)


def _rule(record: str, expr: str, **labels: str) -> dict:
    return {"record": record, "expr": expr, "labels": labels}


def recording_rules(window: str = "5m") -> list[dict]:
    """The pipeline metrics of every Flink job, and whether each job runs (the uptime SLI)."""
    rules = []
    for job in FLINK_JOBS:
        on = job.selector
        latency_sum = (
            f"sum by ({KEEP}, stage) ({LATENCY}_sum{{{on}}})"
            if job.sum_unit == 1
            else f"sum by ({KEEP}, stage) ({LATENCY_SUM_MS}{{{on}}}) * {job.sum_unit:g}"
        )
        rules += [
            _rule(
                metrics.MESSAGES_PROCESSED_TOTAL,
                f"sum by ({KEEP}, status) ({PROCESSED}{{{on}}})",
                pipeline=job.pipeline,
                topic=job.topic,
            ),
            _rule(
                metrics.MESSAGES_PROCESSED_TOTAL,
                f"sum by ({KEEP}) ({DEAD_LETTERS}{{{on}}})",
                pipeline=job.pipeline,
                topic=job.topic,
                status=DEAD_LETTER,
            ),
            _rule(
                f"{metrics.PROCESSING_LATENCY_SECONDS}_bucket",
                f"sum by ({KEEP}, stage, le) ({LATENCY_BUCKET}{{{on}}})",
                pipeline=job.pipeline,
            ),
            _rule(f"{metrics.PROCESSING_LATENCY_SECONDS}_sum", latency_sum, pipeline=job.pipeline),
            _rule(
                f"{metrics.PROCESSING_LATENCY_SECONDS}_count",
                f"sum by ({KEEP}, stage) ({LATENCY}_count{{{on}}})",
                pipeline=job.pipeline,
            ),
            # Valid / (valid + dead-lettered) records of the last `window` (no dead letters: 0 of them).
            _rule(
                metrics.DATA_QUALITY_SCORE_NAME,
                f'sum by ({KEEP}) (rate({PROCESSED}{{{on}, status="{SUCCESS}"}}[{window}])) / ('
                f'sum by ({KEEP}) (rate({PROCESSED}{{{on}, status="{SUCCESS}"}}[{window}])) + ('
                f"sum by ({KEEP}) (rate({DEAD_LETTERS}{{{on}}}[{window}])) or "
                f"sum by ({KEEP}) (rate({PROCESSED}{{{on}}}[{window}])) * 0))",
                pipeline=job.pipeline,
                dataset=job.output,
            ),
            _rule(
                metrics.QUEUE_DEPTH_NAME,
                f"sum by ({KEEP}) ({PENDING_RECORDS}{{{on}}})",
                pipeline=job.pipeline,
                queue=job.topic,
            ),
            _rule(JOB_RUNNING, f"max({UPTIME}{{{on}}} > bool 0) or vector(0)", pipeline=job.pipeline),
        ]
    return rules
