"""`wh pipeline`: the market-data pipeline and the news path locally, end to end on real services, then a
summary.

Starts Kafka, PostgreSQL, a Prometheus that scrapes the run (with a Pushgateway for the Flink job's
metrics) and, unless --aws-endpoint names a running one, the AWS emulator; runs pipeline.py on them (market
data, then news) and prints pipeline_report.py: counts, the quality score and p95 latency as Prometheus has
them, the path of a PNG of one symbol's price and indicators, the news path's sentiment per symbol; then
the daily Spark batch over the days the run's ticks fall on (daily_batch.py) and a few symbols' summary
rows. Everything it starts is stopped by its pid when it ends, also on Ctrl-C or SIGTERM. Exit 1 when a
record is unaccounted for or a service fails.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.local.pipeline import ENV, lake_bucket, run_news, run_pipeline, say

DEFAULT_CHART = "wh-pipeline-chart.png"


def _at_least(minimum: float, kind: type = int) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ticks", type=_at_least(1), default=10_000, help="synthetic ticks to push (default 10000)"
    )
    parser.add_argument(
        "--rate",
        type=_at_least(0, float),
        default=None,
        help="ticks per second, 0 = unthrottled (default: the synthetic source's rate in sources.yaml)",
    )
    parser.add_argument(
        "--timeout",
        type=_at_least(1, float),
        default=180,
        help="seconds allowed for each stage (default 180)",
    )
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="serve /metrics here (default 0: a free port)"
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=Path(DEFAULT_CHART),
        help=f"where to write the PNG of one symbol's price and indicators (default ./{DEFAULT_CHART})",
    )
    parser.add_argument(
        "--aws-endpoint",
        default=os.environ.get("TF_VAR_aws_endpoint"),
        help="a running AWS emulator (default $TF_VAR_aws_endpoint, else one is started for the run)",
    )


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from app.batch.daily_job import DayFailed
    from app.batch.day_input import DayRejected
    from app.local import pipeline_queries, price_chart
    from app.local.daily_batch import run_days
    from app.local.monitoring import local_monitoring
    from app.local.pipeline_report import print_daily, print_news, print_summary
    from app.local.prometheus import PromQLError
    from app.local.services import local_services
    from app.migrations import MigrationError
    from app.sinks.lake_layout import NEWS, bucket_name
    from app.yamlconfig import ConfigError
    from infra.process import ServiceError

    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    started = time.monotonic()
    try:
        with (
            local_services(say) as services,
            local_monitoring(args.metrics_port, say) as monitoring,
            lake_bucket(args.aws_endpoint) as (s3, bucket),
            tempfile.TemporaryDirectory(prefix="wh-pipeline-") as workdir,
        ):
            outcome = run_pipeline(
                services.broker.bootstrap_servers,
                services.postgres.dsn,
                s3,
                bucket,
                Path(workdir),
                ticks=args.ticks,
                rate=args.rate,
                timeout=args.timeout,
                flink_overrides=monitoring.flink_reporter("market-data"),
            )
            news = run_news(
                services.broker.bootstrap_servers,
                services.postgres.dsn,
                s3,
                Path(workdir),
                timeout=args.timeout,
                flink_overrides=monitoring.flink_reporter("news"),
            )
            say("reading the run's figures back from Prometheus ...")
            figures = pipeline_queries.read(
                monitoring.prometheus, time.time(), outcome.processed, news.scored
            )
            chart, symbol = price_chart.draw(services.postgres.dsn, args.chart.resolve())
            print_summary(outcome, figures, bucket, (chart, symbol), time.monotonic() - started)
            print_news(news, figures, bucket_name(ENV, NEWS.bucket))
            problems = outcome.problems() + news.problems()
            for problem in problems:
                print(f"wh pipeline: {problem}", file=sys.stderr)
            print_daily(run_days(s3, bucket, services.postgres.dsn, outcome.lake_keys, say), bucket)
            return 1 if problems else 0
    except (DayRejected, DayFailed) as exc:
        print(f"wh pipeline: daily batch: {exc}", file=sys.stderr)
        return 1
    except (ServiceError, ConfigError, MigrationError, PromQLError, TimeoutError, OSError) as exc:
        print(f"wh pipeline: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
