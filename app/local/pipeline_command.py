"""`wh pipeline`: the market-data pipeline and the news path locally, end to end on real services, then a
summary.

Starts Kafka, PostgreSQL and (unless --aws-endpoint names a running one) the AWS emulator, runs
pipeline.py on them (market data, then news) and prints pipeline_report.py. Everything it starts is
stopped by its pid when it ends, also on Ctrl-C or SIGTERM. Exit 1 when a record is unaccounted for or a
service fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from app.local.pipeline import ENV, lake_bucket, run_news, run_pipeline, say
from app.local.pipeline_report import print_news, print_summary


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
    parser.add_argument("--metrics-port", type=int, default=0, help="serve /metrics here (0 = off)")
    parser.add_argument(
        "--aws-endpoint",
        default=os.environ.get("TF_VAR_aws_endpoint"),
        help="a running AWS emulator (default $TF_VAR_aws_endpoint, else one is started for the run)",
    )


@contextlib.contextmanager
def _metrics_served(port: int) -> Iterator[None]:
    """/metrics on 127.0.0.1:`port` for the length of the run (0: not served)."""
    from app import metrics

    if not port:
        yield
        return
    server, _ = metrics.serve(port)
    say(f"metrics on http://127.0.0.1:{port}/metrics")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from app.local.services import local_services
    from app.migrations import MigrationError
    from app.sinks.lake_layout import NEWS, bucket_name
    from app.yamlconfig import ConfigError
    from infra.process import ServiceError

    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    started = time.monotonic()
    try:
        with (
            _metrics_served(args.metrics_port),
            local_services(say) as services,
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
            )
            news = run_news(
                services.broker.bootstrap_servers,
                services.postgres.dsn,
                s3,
                Path(workdir),
                timeout=args.timeout,
            )
            print_summary(outcome, bucket, time.monotonic() - started)
            print_news(news, bucket_name(ENV, NEWS.bucket))
            problems = outcome.problems() + news.problems()
            for problem in problems:
                print(f"wh pipeline: {problem}", file=sys.stderr)
            return 1 if problems else 0
    except (ServiceError, ConfigError, MigrationError, TimeoutError, OSError) as exc:
        print(f"wh pipeline: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
