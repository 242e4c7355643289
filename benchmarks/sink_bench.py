"""The sinks against the ceilings of the same machine, in one run: the tick loader (Kafka -> PostgreSQL) vs
PostgreSQL's own COPY of the same rows from a file, and the lake writer vs pyarrow writing the same rows
to the same store directly.

One local Kafka broker, PostgreSQL and AWS emulator. --records processed ticks (as the market-data job
writes them) go to one topic once. Each round:

- loader: TableLoader reads the whole topic with a new consumer group into a fresh database (parse,
  validate, COPY into the table, commit offsets); its batches are kept;
- COPY: the same rows, written once to a CSV file before the rounds, copied with `COPY market_data_ts FROM
  STDIN (FORMAT csv)` into a fresh database: what the database takes at best;
- lake writer: LakeWriter given the loader's batches, one flush into a fresh bucket, validation off (the
  writer's own cost) and on (as `wh load` runs it: the tick suite on each flush);
- pyarrow: the same rows grouped into the same objects (Kafka partition x hour), each an Arrow table of
  the same schema written by pq.write_table (snappy) and PUT into a fresh bucket.

Sides alternate order between rounds; the table shows the median of each and its ratio to its ceiling, then
the CPU time per row of this process (the loader), the PostgreSQL server and the broker in the loader and
COPY rounds: on a 2-core machine their sum over 2 is the least the loader can take per row.
After the rounds, `wh load` as it is deployed (its own process: loader, lake writer, tick suite) reads
the topic once into a fresh database and bucket: its rate and its peak RSS.

    PYTHONPATH=. $VENV/bin/python benchmarks/sink_bench.py [--records 200000] [--rounds 3]
"""

from __future__ import annotations

import csv
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app import migrations
from app.catalog import Catalog
from app.catalog.admin import ensure_topics
from app.local.kafka import KafkaBroker
from app.local.postgres import Postgres
from app.metrics import PipelineMetrics
from app.sinks import lake_layout
from app.sinks.lake import SCHEMA, LakeWriter
from app.sinks.loads import LOADS
from app.sinks.timescale import Loaded, TableLoader
from benchmarks._proc_tree import cpu_seconds
from benchmarks.quality_bench import bench_arguments, bench_topics, produce
from infra.emulator.aws import CREDENTIALS, REGION, AwsEmulator

LOAD = LOADS["market-data-processed"]
SUFFIX = "-bench"
TOPIC = LOAD.topic + SUFFIX
REPO = Path(__file__).resolve().parents[1]


# Where the CPU of a loader or COPY round goes: this process (the loader, librdkafka's threads included),
# the PostgreSQL server (its backends) and the Kafka broker.
PROCESSES = ("this process", "PostgreSQL", "Kafka broker")


class CpuUse:
    """CPU seconds of each of PROCESSES over timed spans, kept per side."""

    def __init__(self, postgres_pid: int, broker_pid: int) -> None:
        self.pids = (postgres_pid, broker_pid)
        self.spans: dict[str, list[tuple[float, ...]]] = defaultdict(list)

    def now(self) -> tuple[float, ...]:
        own = os.times()
        return (own.user + own.system, *(cpu_seconds(pid) for pid in self.pids))

    def stop(self, side: str, started: tuple[float, ...]) -> None:
        """Keep the CPU used since `started` (a `now()`) as one of `side`'s spans."""
        self.spans[side].append(tuple(b - a for a, b in zip(started, self.now(), strict=True)))

    def per_row_us(self, side: str, rows: int) -> list[float]:
        """Each process's median CPU microseconds per row over the side's spans."""
        spans = self.spans[side]
        return [statistics.median(span[i] for span in spans) / rows * 1e6 for i in range(len(PROCESSES))]


def load_round(bootstrap: str, postgres, topics: Catalog, n: int, cpu: CpuUse) -> tuple[float, list[Loaded]]:
    dsn = postgres.create_database(f"sink_bench_loader_{n}")
    migrations.apply(dsn)
    batches: list[Loaded] = []
    loader = TableLoader(
        bootstrap,
        dsn,
        LOAD,
        topics[TOPIC],
        topics.dead_letter("market-data"),
        group=f"sink-bench-{n}",
        on_rows=batches.append,
    )
    stop = threading.Event()
    stop.set()  # read to the topic's end, then return
    used, started = cpu.now(), time.perf_counter()
    stats = loader.run(stop)
    seconds = time.perf_counter() - started
    cpu.stop("loader", used)
    if stats.inserted != sum(len(b.rows) for b in batches):
        raise SystemExit(f"loader inserted {stats.inserted} of {sum(len(b.rows) for b in batches)} rows")
    return seconds, batches


def write_csv(rows: list[tuple], path: Path) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        for row in rows:
            writer.writerow("" if value is None else value for value in row)


def copy_round(postgres, path: Path, n: int, expected: int, cpu: CpuUse) -> float:
    import psycopg

    dsn = postgres.create_database(f"sink_bench_copy_{n}")
    migrations.apply(dsn)
    columns = ", ".join(name for name, _ in LOAD.table.columns)
    with psycopg.connect(dsn) as conn:
        used, started = cpu.now(), time.perf_counter()
        with conn.cursor() as cur, path.open("rb") as source:
            with cur.copy(f"COPY {LOAD.table.name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        cpu.stop("COPY", used)
        stored = conn.execute(f"SELECT count(*) FROM {LOAD.table.name}").fetchone()[0]
    if stored != expected:
        raise SystemExit(f"COPY stored {stored} of {expected} rows")
    return seconds


def lake_round(s3, batches: list[Loaded], bucket: str, validate: bool) -> float:
    s3.create_bucket(Bucket=bucket)
    writer = LakeWriter(s3, bucket, LOAD, metrics=PipelineMetrics("sink-bench"), validate=validate)
    started = time.perf_counter()
    for batch in batches:
        writer.add(batch)
    writer.flush()
    return time.perf_counter() - started


def pyarrow_round(s3, batches: list[Loaded], bucket: str) -> float:
    s3.create_bucket(Bucket=bucket)
    dataset = LOAD.dataset
    started = time.perf_counter()
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for batch in batches:
        for (partition, _), row in zip(batch.positions, batch.rows, strict=True):
            groups[partition, dataset.partition_start(row[0])].append(row)
    for (partition, start), rows in groups.items():
        columns = list(zip(*rows, strict=True))
        table = pa.Table.from_arrays(
            [pa.array(values, type=field.type) for values, field in zip(columns, SCHEMA, strict=True)],
            schema=SCHEMA,
        )
        body = io.BytesIO()
        pq.write_table(table, body, compression="snappy")
        s3.put_object(Bucket=bucket, Key=dataset.key(start, f"p{partition}.parquet"), Body=body.getvalue())
    return time.perf_counter() - started


def service_round(bootstrap: str, postgres, s3, expected: int) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `wh load` storing the bench topic, in a process of its own."""
    dsn = postgres.create_database("sink_bench_service")
    migrations.apply(dsn)
    env = "sink-bench"
    s3.create_bucket(Bucket=lake_layout.bucket_name(env, LOAD.dataset.bucket))
    command = [sys.executable, "-m", "app.cli", "load", LOAD.topic, "--until-caught-up", "--env", env]
    command += ["--bootstrap-servers", bootstrap, "--dsn", dsn, "--aws-endpoint", s3.meta.endpoint_url]
    started = time.perf_counter()
    environment = os.environ | CREDENTIALS | {"AWS_DEFAULT_REGION": REGION}
    subprocess.run(
        [*command, f"--topic-suffix={SUFFIX}"], cwd=REPO, env=environment, check=True, timeout=1200
    )
    seconds = time.perf_counter() - started
    # The largest of the waited-for children: `wh load` and the databases' initdb/createdb runs.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    import psycopg

    with psycopg.connect(dsn) as conn:
        stored = conn.execute(f"SELECT count(*) FROM {LOAD.table.name}").fetchone()[0]
    if stored != expected:
        raise SystemExit(f"wh load stored {stored} of {expected} rows")
    return seconds, peak


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__, argv)
    topics = bench_topics()
    times: dict[str, list[float]] = defaultdict(list)
    with (
        KafkaBroker() as broker,
        Postgres() as postgres,
        AwsEmulator() as aws,
        tempfile.TemporaryDirectory(prefix="sink-bench-") as workdir,
    ):
        ensure_topics(broker.bootstrap_servers, topics)
        produce(broker.bootstrap_servers, topics[TOPIC].name, args.records)
        s3 = aws.client("s3")
        rows_file = Path(workdir) / "rows.csv"
        cpu = CpuUse(postgres.pid, broker.pid)
        for n in range(args.rounds):
            seconds, batches = load_round(broker.bootstrap_servers, postgres, topics, n, cpu)
            rows = [row for batch in batches for row in batch.rows]
            if n == 0:
                write_csv(rows, rows_file)
            sides = {
                "COPY": partial(copy_round, postgres, rows_file, n, len(rows), cpu),
                "lake writer": partial(lake_round, s3, batches, f"sink-bench-lake-{n}", False),
                "lake writer + tick suite": partial(lake_round, s3, batches, f"sink-bench-checked-{n}", True),
                "pyarrow": partial(pyarrow_round, s3, batches, f"sink-bench-pyarrow-{n}"),
            }
            times["loader"].append(seconds)
            for side in sides if n % 2 == 0 else reversed(sides):
                times[side].append(sides[side]())
            latest = ", ".join(f"{side} {values[-1]:.2f}s" for side, values in times.items())
            print(f"round {n + 1}: {latest}", file=sys.stderr, flush=True)
        service_seconds, service_rss = service_round(broker.bootstrap_servers, postgres, s3, args.records)
    median = {side: statistics.median(values) for side, values in times.items()}
    ceilings = {"loader": "COPY", "lake writer": "pyarrow", "lake writer + tick suite": "pyarrow"}
    print(f"{'side (' + str(args.records) + ' ticks)':<28}{'median s':>10}{'rows/s':>11}{'of ceiling':>12}")
    for side in ("COPY", "loader", "pyarrow", "lake writer", "lake writer + tick suite"):
        ratio = f"{median[ceilings[side]] / median[side]:.2f}" if side in ceilings else "ceiling"
        print(f"{side:<28}{median[side]:>10.2f}{args.records / median[side]:>11,.0f}{ratio:>12}")
    print(
        f"{'wh load (one run)':<28}{service_seconds:>10.2f}{args.records / service_seconds:>11,.0f}"
        f"{median['COPY'] / service_seconds:>12.2f}  of COPY; peak RSS {service_rss:,.0f} MiB"
    )
    print(f"\nCPU per row, median of rounds (us): {'  '.join(f'{name:>14}' for name in PROCESSES)}")
    for side in ("COPY", "loader"):
        print(f"{side:<36}" + "  ".join(f"{us:>14.1f}" for us in cpu.per_row_us(side, args.records)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
