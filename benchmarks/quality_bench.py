"""Quality-check cost: the tick loader with the lake writer validating each flush (the tick suite) vs the
same loader with validation off.

One local Kafka broker, PostgreSQL and AWS emulator. --records processed ticks (as the market-data job
writes them) go to one topic once; each round loads the whole topic into a fresh database and bucket with
a new consumer group, so both sides read, parse, COPY and PUT the same records. Rounds alternate between
the sides; the table shows the median of each and the ratio (validated / not validated).

    PYTHONPATH=. $VENV/bin/python benchmarks/quality_bench.py [--records 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import UTC, datetime

import orjson
from confluent_kafka import Producer

from app import migrations
from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.local.kafka import KafkaBroker
from app.local.postgres import Postgres
from app.metrics import PipelineMetrics
from app.sinks.lake import LakeWriter
from app.sinks.loads import LOADS
from app.sinks.timescale import TableLoader
from infra.emulator.aws import AwsEmulator

SIDES = ("validated", "not validated")


def produce(bootstrap: str, topic: str, records: int) -> None:
    """`records` processed ticks of 500 symbols, a millisecond apart, ending now."""
    # Idempotent, so the retries of a just-created topic's first batches cannot reorder a symbol's ticks.
    settings = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20}
    producer = Producer(settings | {"compression.type": "lz4"})
    now_ms, processed_at = int(time.time() * 1000), datetime.now(UTC).isoformat()
    for i in range(records):
        symbol = f"S{i % 500:03d}"
        tick = {"symbol": symbol, "timestamp": now_ms - records + i, "price": 10 + i % 97 / 10, "volume": 100}
        tick |= {"source": "bench", "sequence": i, "sma_20": 10.0, "processed_at": processed_at}
        while True:
            try:
                producer.produce(topic, value=orjson.dumps(tick), key=symbol.encode())
                break
            except BufferError:  # the local queue is full: wait for deliveries
                producer.poll(0.5)
    if producer.flush(60):
        raise RuntimeError(f"records not delivered to {topic}")


def load_round(bootstrap, postgres, s3, topics: Catalog, n: int, validate: bool) -> tuple[float, float]:
    """(seconds, mean score) to load the whole topic with the lake writer validating or not."""
    dsn = postgres.create_database(f"quality_bench_{n}_{int(validate)}")
    migrations.apply(dsn)
    bucket = f"quality-bench-{n}-{int(validate)}"
    s3.create_bucket(Bucket=bucket)
    load = LOADS["market-data-processed"]
    lake = LakeWriter(s3, bucket, load, metrics=PipelineMetrics("quality-bench"), validate=validate)
    topic = topics["market-data-processed-bench"]
    loader = TableLoader(
        bootstrap,
        dsn,
        load,
        topic,
        topics.dead_letter("market-data"),
        group=f"quality-bench-{n}-{int(validate)}",
        on_rows=lake.add,
        on_flush=lake.flush,
    )
    stop = threading.Event()
    stop.set()  # read to the topic's end, then return
    started = time.perf_counter()
    loader.run(stop)
    seconds = time.perf_counter() - started
    scores = [v.score for v in lake.validations]
    return seconds, statistics.mean(scores) if scores else float("nan")


def bench_arguments(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """--records and --rounds, as the loader benchmarks take them."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


def bench_topics() -> Catalog:
    """The market-data loader's topics, suffixed -bench."""
    names = ("market-data-processed", "market-data-dead-letter")
    return Catalog([catalog()[name] for name in names]).with_suffix("-bench")


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__, argv)
    topics = bench_topics()
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    with KafkaBroker() as broker, Postgres() as postgres, AwsEmulator() as aws:
        ensure_topics(broker.bootstrap_servers, topics)
        produce(broker.bootstrap_servers, topics["market-data-processed-bench"].name, args.records)
        s3 = aws.client("s3")
        for n in range(args.rounds):
            for side in SIDES if n % 2 == 0 else reversed(SIDES):
                seconds, score = load_round(
                    broker.bootstrap_servers, postgres, s3, topics, n, side == SIDES[0]
                )
                times[side].append(seconds)
                print(
                    f"round {n + 1}: {side:<14}{seconds:7.2f}s  score {score:.4f}",
                    file=sys.stderr,
                    flush=True,
                )
    median = {side: statistics.median(values) for side, values in times.items()}
    print(f"{'loader + lake writer':<26}{'records':>9}{'median s':>10}{'records/s':>11}{'vs off':>8}")
    for side in SIDES:
        rate, ratio = args.records / median[side], median[side] / median[SIDES[1]]
        print(f"{side:<26}{args.records:>9}{median[side]:>10.2f}{rate:>11.0f}{ratio:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
