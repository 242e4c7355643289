"""Run a Flink job of the pipeline on the local mini-cluster until it ends or is interrupted.

A restarted run resumes from the newest checkpoint under --checkpoint-dir (kill it, start it again:
no record is lost or written twice). The job reads and writes the catalog's topics on --bootstrap-servers.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

JOB_NAMES = ("market-data", "news")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", choices=JOB_NAMES, help="which job to run")
    parser.add_argument(
        "--bootstrap-servers", required=True, help="Kafka bootstrap servers, e.g. 127.0.0.1:9092"
    )
    parser.add_argument("--checkpoint-dir", type=Path, required=True, help="where checkpoints are kept")
    parser.add_argument("--env", default="local", help="settings environment in app/flink/jobs.yaml")
    parser.add_argument("--topic-suffix", default="", help="suffix of every topic name (isolated runs)")
    parser.add_argument("--fresh", action="store_true", help="ignore existing checkpoints")


def run(args: argparse.Namespace) -> int:
    from app.flink import config
    from app.local import flink as local_flink
    from app.local import flink_jobs
    from app.yamlconfig import ConfigError

    try:
        settings = config.settings(args.env)
    except ConfigError as exc:
        print(f"wh flink-job: {exc}", file=sys.stderr)
        return 2
    args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    result = flink_jobs.submit(
        args.job,
        settings,
        args.bootstrap_servers,
        checkpoint_dir=args.checkpoint_dir,
        topic_suffix=args.topic_suffix,
        restore=not args.fresh,
    )
    client = result.get_job_client()
    print(f"wh flink-job: {args.job} running as Flink job {client.get_job_id()}", flush=True)

    def stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        result.wait()
    except KeyboardInterrupt:
        client.cancel().result()
        print(
            f"wh flink-job: {args.job} cancelled; checkpoints kept in {args.checkpoint_dir}", file=sys.stderr
        )
    finally:
        local_flink.shutdown()
    return 0
