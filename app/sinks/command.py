"""`wh load [TOPIC ...]`: the loads of app/sinks/loads.py, each topic into its table and its lake dataset
(every load by default), until interrupted; with --until-caught-up, until each has stored its topic up to
its end as of the start.

A load whose database or broker goes away starts again from its committed offsets after a growing delay
(app/sinks/supervisor.py). On Ctrl-C or SIGTERM each load finishes what it read, writes the lake, commits
its offsets and returns. The lake buckets are the environment's (--env, by the data-lake stack's names),
on AWS through the default credential chain, or on --aws-endpoint (the local emulator). The database
comes from --dsn or $WH_DATABASE_DSN. Exit 1 if a load failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="*", help="topics to store (default: every topic with a load)")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", help="Kafka (default %(default)s)")
    parser.add_argument("--dsn", default=os.environ.get("WH_DATABASE_DSN"), help="default: $WH_DATABASE_DSN")
    parser.add_argument("--env", default="local", help="names the lake buckets (default %(default)s)")
    parser.add_argument("--aws-endpoint", default=None, help="an S3-compatible endpoint (the local emulator)")
    parser.add_argument("--until-caught-up", action="store_true", help="stop once each topic is stored")
    parser.add_argument("--topic-suffix", default="", help=argparse.SUPPRESS)  # tests on a shared broker


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    import boto3

    from app.catalog import catalog
    from app.sinks import lake_layout
    from app.sinks.loads import LOADS
    from app.sinks.supervisor import keep_loading
    from app.sinks.timescale import loader_with_lake

    unknown = [t for t in args.topic if t not in LOADS]
    if unknown:
        print(f"wh load: no load for {', '.join(unknown)}; known: {', '.join(LOADS)}", file=sys.stderr)
        return 2
    if not args.dsn:
        print("wh load: no database given: pass --dsn or set WH_DATABASE_DSN", file=sys.stderr)
        return 2
    s3 = boto3.client("s3", endpoint_url=args.aws_endpoint) if args.aws_endpoint else boto3.client("s3")
    topics, suffix = catalog().with_suffix(args.topic_suffix), args.topic_suffix
    stop, failures, threads = threading.Event(), [], []
    for name in args.topic or LOADS:
        load = LOADS[name]
        bucket = lake_layout.bucket_name(args.env, load.dataset.bucket)

        def make(load=load, bucket=bucket):
            return loader_with_lake(load, args.bootstrap_servers, args.dsn, s3, bucket, topics, suffix)[0]

        def work(make=make, name=name) -> None:
            try:
                runs = keep_loading(make, stop, name=name).stats
                inserted, duplicates = sum(r.inserted for r in runs), sum(r.duplicates for r in runs)
                print(
                    f"{name}: {inserted} rows inserted ({duplicates} already there), "
                    f"{sum(r.dead_lettered for r in runs)} dead-lettered, {len(runs) - 1} restarts"
                )
            except Exception as exc:  # one load's failure ends it alone
                failures.append(name)
                print(f"wh load: {name} stopped: {type(exc).__name__}: {exc}", file=sys.stderr)

        threads.append(threading.Thread(target=work, name=f"load-{name}"))
    if args.until_caught_up:
        stop.set()  # each reads to its topic's end as of now, then returns
    else:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)  # joined in steps, so a signal is handled at once
    return 1 if failures else 0
