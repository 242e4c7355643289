"""A local run's figures as the local Prometheus has them: what the summary reports against the targets.

The quality score and the end-to-end p95 come from the loader's series (scrape job wh-pipeline); the
p95 is histogram_quantile over its buckets, so it is an estimate within a bucket (app/metrics.py
LATENCY_BUCKETS), as a dashboard shows it. The Flink job's figures come through the recording rules of
app/monitoring/flink.py from what the job pushed (scrape job flink).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app import metrics
from app.flink import market_data, news
from app.local.flink import FLINK_SCRAPE_JOB
from app.local.monitoring import PIPELINE_SCRAPE_JOB
from app.local.prometheus import Prometheus
from app.sinks.lake_layout import PROCESSED_MARKET_DATA
from app.sinks.timescale import END_TO_END

PIPELINE = market_data.PIPELINE


# Each figure is read over this window, not at an instant: the Flink job's series leave the Pushgateway
# with the job, and on a loaded machine a scrape of this process can miss its one-second timeout, which
# marks its series stale until the next one.
WINDOW = "5m"


def _last(selector: str) -> str:
    """A gauge's last value."""
    return f"last_over_time({selector}[{WINDOW}])"


def _final(selector: str) -> str:
    """A counter's final value: its highest, as a run starts from zero. Not its last: a stopping job's
    subtasks finish one by one, each taking its series out of the next push, so the last sum the recording
    rules make can be of the subtasks still running."""
    return f"max_over_time({selector}[{WINDOW}])"


def _p95(job: str, stage: str, pipeline: str = PIPELINE) -> str:
    buckets = (
        f'{metrics.PROCESSING_LATENCY_SECONDS}_bucket{{job="{job}", pipeline="{pipeline}", stage="{stage}"}}'
    )
    return f"histogram_quantile(0.95, sum by (le) ({_final(buckets)}))"


def _flink_count(status: str, pipeline: str = PIPELINE) -> str:
    selector = f'job="{FLINK_SCRAPE_JOB}", pipeline="{pipeline}", status="{status}"'
    return f"sum({_final(f'{metrics.MESSAGES_PROCESSED_TOTAL}{{{selector}}}')})"


QUALITY = _last(
    f'{metrics.DATA_QUALITY_SCORE_NAME}{{job="{PIPELINE_SCRAPE_JOB}", pipeline="{PIPELINE}", '
    f'dataset="{PROCESSED_MARKET_DATA.name}"}}'
)
P95_END_TO_END = _p95(PIPELINE_SCRAPE_JOB, END_TO_END)
P95_FLINK = _p95(FLINK_SCRAPE_JOB, market_data.LATENCY_STAGE)
FLINK_EMITTED = _flink_count(metrics.SUCCESS)
FLINK_DEAD_LETTERS = _flink_count(metrics.DEAD_LETTER)
NEWS_SCORED = _flink_count(metrics.SUCCESS, news.PIPELINE)
# A job counts its first dead letter when it has one (its reason is a label): none yet is no series.
NEWS_DEAD_LETTERS = f"{_flink_count(metrics.DEAD_LETTER, news.PIPELINE)} or vector(0)"
NEWS_P95 = _p95(FLINK_SCRAPE_JOB, news.LATENCY_STAGE, news.PIPELINE)


@dataclass(frozen=True)
class PrometheusFigures:
    quality: float | None
    p95_latency: float | None  # event time -> row in PostgreSQL
    flink_emitted: float | None  # ticks the Flink job emitted with indicators
    flink_dead_letters: float | None
    flink_p95: float | None  # event time -> indicators emitted (includes the watermark's wait)
    news_scored: float | None  # articles the news job scored
    news_dead_letters: float | None
    news_p95: float | None  # ingest -> scored


def read(
    prometheus: Prometheus, after: float, emitted: int, scored: int, timeout: float = 60.0
) -> PrometheusFigures:
    """Wait for a scrape of this process since the Unix time `after` (the run's end) and for the Flink jobs'
    last pushes to show `emitted` ticks and `scored` articles (or `timeout`), then query the figures."""
    prometheus.wait_for_scrape(PIPELINE_SCRAPE_JOB, after, timeout)
    deadline = time.monotonic() + timeout
    for query, count in ((FLINK_EMITTED, emitted), (NEWS_SCORED, scored)):
        while (prometheus.value(query) or 0) < count and time.monotonic() < deadline:
            time.sleep(0.5)  # rules are evaluated every second over the latest push
    return PrometheusFigures(
        quality=prometheus.value(QUALITY),
        p95_latency=prometheus.value(P95_END_TO_END),
        flink_emitted=prometheus.value(FLINK_EMITTED),
        flink_dead_letters=prometheus.value(FLINK_DEAD_LETTERS),
        flink_p95=prometheus.value(P95_FLINK),
        news_scored=prometheus.value(NEWS_SCORED),
        news_dead_letters=prometheus.value(NEWS_DEAD_LETTERS),
        news_p95=prometheus.value(NEWS_P95),
    )
