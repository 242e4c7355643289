"""End-to-end throughput and p95 latency of the market-data job through a real Kafka broker, vs two baselines.

The baselines run in the same process: a Kafka -> Kafka passthrough in Flink (the job's raw topic read as
bytes, written by the job's own exactly-once sink: what the broker and the connectors allow here), Flink's
own ceiling (datagen -> blackhole), the naive per-record Python consumer, and the job itself at parallelism
1 on the same ticks (the scaling factor).

    PYTHONPATH=. python benchmarks/flink_bench.py [--ticks 5000000] [--symbols 5000] [--latency-rate N]

Throughput: the raw topic is pre-filled with --ticks ticks over --symbols symbols; the job's rate is the
count over the span of its output records' Kafka timestamps (set when its sink writes them); the output is
read once the job has taken the whole raw topic, so no reader competes with it for the two cores. Each run
also reports the peak RSS of the JVM that runs it (the local mini-cluster: job and task manager in one) and,
for the job, the size of its last checkpoint per symbol.
Latency: ticks produced at --latency-rate per second with their event time = send time; p95 of (output
written - event time) and of (visible to a read_committed reader - event time, includes the checkpoint
that commits the transaction). Event-time order means a tick waits for the watermark: --out-of-orderness.
Each phase starts a fresh JVM, whose JIT compilers take a core for the first ~20 s on this machine: the
throughput runs are long enough to amortise that, the latency phase measures after --latency-warmup.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
from confluent_kafka import Consumer, Producer

from app.flink import config, market_data
from app.flink.scripts import statements
from app.local import flink as local_flink
from app.local import flink_jobs
from app.local.kafka import KafkaBroker
from app.sinks import offsets

PARTITIONS = 2


def _producer(broker) -> Producer:
    return Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 2_000_000,
        }
    )


def _tick(symbol: str, ts: int, price: float, volume: int) -> bytes:
    return (
        f'{{"type":"tick","symbol":"{symbol}","timestamp":{ts},"price":{price},"volume":{volume},'
        f'"source":"bench"}}'.encode()
    )


def prefill(broker, topic: str, ticks: int, symbols: list[str], base: int) -> None:
    producer = _producer(broker)
    for i in range(ticks):
        s = i % len(symbols)
        # Event time advances like a live 100k ticks/s feed: 100 ticks per millisecond.
        price = 100.0 + (i * 7919 % 1000) / 100
        producer.produce(
            topic,
            _tick(symbols[s], base + i // 100, price, i % 500),
            symbols[s].encode(),
            partition=s % PARTITIONS,
        )
        if i % 100_000 == 0:
            producer.poll(0)
    _flush_watermark(producer, topic, base + ticks // 100 + 60_000)


def _flush_watermark(producer, topic: str, ts: int) -> None:
    for p in range(PARTITIONS):
        producer.produce(topic, _tick("ZZZZ", ts, 1.0, 1), b"ZZZZ", partition=p)
    assert producer.flush(120) == 0


def _consumer(broker, *topics: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": f"bench-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "fetch.max.bytes": 50_000_000,
        }
    )
    consumer.subscribe(list(topics))
    return consumer


def settings(
    out_of_orderness_ms: int, backend: str | None, parallelism: int | None = None, timers: str | None = None
):
    base = config.settings("local")
    md = base.market_data.model_copy(update={"out_of_orderness": out_of_orderness_ms})
    stored = base.with_state(backend=backend or base.state.backend, timers=timers or base.state.timers)
    return stored.model_copy(update={"market_data": md, "parallelism": parallelism or base.parallelism})


def job_throughput(broker, job_settings, ticks: int, symbols: list[str], base: int) -> dict:
    suffix = f".bench{time.monotonic_ns()}"
    topics = market_data.topics(suffix)
    for name in topics.values():
        broker.create_topic(name, PARTITIONS)
    prefill(broker, topics["raw_topic"], ticks, symbols, base)
    started = time.monotonic()
    checkpoints = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    result = flink_jobs.submit(
        "market-data", job_settings, broker.bootstrap_servers, checkpoint_dir=checkpoints, topic_suffix=suffix
    )
    # Every tick comes out once: processed, or dead-lettered (all are valid, so only as `late`).
    stamps, dead, deadline = [], collections.Counter(), time.monotonic() + 600
    group = job_settings.market_data.consumer_group + suffix
    consumer = None
    try:
        _wait_until_taken(broker, group, topics["raw_topic"], deadline)
        consumer = _consumer(broker, topics["processed_topic"], topics["dead_letter_topic"])
        while len(stamps) + dead.total() < ticks and time.monotonic() < deadline:
            for message in consumer.consume(10_000, 1.0):
                if message.error():
                    continue
                if message.topic() == topics["dead_letter_topic"]:
                    dead[dict(message.headers())["dlq.reason"].decode()] += 1
                else:
                    stamps.append(message.timestamp()[1])
        peak = peak_rss_mib(local_flink.gateway_pid())
        state = checkpoint_bytes(checkpoints)
    finally:
        _stop(result, consumer, checkpoints)
    wall = time.monotonic() - started
    assert len(stamps) + dead.total() == ticks, (
        f"job wrote {len(stamps)} + {dead.total()} dead of {ticks} ticks"
    )
    return {
        "events": ticks,
        "rate": _rate(stamps),
        "dead_letters": dict(dead),
        "wall": wall,
        "raw_topic": topics["raw_topic"],
        "peak_rss_mib": peak,
        "state_bytes_per_symbol": state / len(symbols),
    }


def _stop(result, consumer, checkpoints: Path) -> None:
    """Cancel a bench run's Flink job, close its reader, stop the JVM and remove its checkpoints."""
    result.get_job_client().cancel().result()
    if consumer is not None:
        consumer.close()
    local_flink.shutdown()
    shutil.rmtree(checkpoints, ignore_errors=True)


def _rate(stamps: list[int]) -> float:
    """Records over the span of their Kafka timestamps (ms), as the sink wrote them."""
    return len(stamps) / ((max(stamps) - min(stamps)) / 1000)


def peak_rss_mib(pid: int | None) -> float:
    """The process's peak resident set (VmHWM), MiB."""
    if pid is None:
        raise RuntimeError("no Flink JVM is running")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM")


def checkpoint_bytes(checkpoints: Path) -> int:
    """The job's checkpoint files: its newest checkpoint and the shared (incremental) files it still uses,
    as Flink keeps one checkpoint and deletes what only older ones referenced."""
    newest = max(checkpoints.glob("*/chk-*"), key=lambda path: int(path.name.split("-")[1]))
    kept = [newest, *newest.parent.glob("shared"), *newest.parent.glob("taskowned")]
    return sum(f.stat().st_size for directory in kept for f in directory.rglob("*") if f.is_file())


def passthrough(broker, job_settings, raw_topic: str, records: int) -> dict:
    """Kafka -> Kafka in Flink, no parsing: `raw_topic` read as bytes by Flink's Kafka source with the job's
    fetch size, written by the job's own exactly-once sink (market_data.sql's processed_ticks)."""
    suffix = f".pass{time.monotonic_ns()}"
    out_topic, group = f"passthrough-out{suffix}", f"passthrough{suffix}"
    broker.create_topic(out_topic, PARTITIONS)
    checkpoints = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    tables = flink_jobs.table_environment(
        job_settings, flink_jobs.local_configuration(job_settings, checkpoint_dir=checkpoints)
    )
    values = market_data.script_values(job_settings, broker.bootstrap_servers, suffix)
    ddl, _ = statements("market_data.sql", values | {"processed_topic": out_topic})
    tables.execute_sql(next(d for d in ddl if d.startswith("CREATE TEMPORARY TABLE processed_ticks")))
    tables.execute_sql(f"""CREATE TEMPORARY TABLE raw_ticks (symbol STRING, `value` BYTES) WITH (
        'connector' = 'kafka', 'topic' = '{raw_topic}',
        'properties.bootstrap.servers' = '{broker.bootstrap_servers}', 'properties.group.id' = '{group}',
        'properties.isolation.level' = 'read_committed', 'scan.startup.mode' = 'earliest-offset',
        'properties.max.partition.fetch.bytes' = '{job_settings.market_data.max_partition_fetch_bytes}',
        'key.format' = 'raw', 'key.fields' = 'symbol',
        'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY')""")
    result = tables.execute_sql("INSERT INTO processed_ticks SELECT symbol, `value` FROM raw_ticks")
    stamps, deadline, consumer = [], time.monotonic() + 600, None
    try:
        _wait_until_taken(broker, group, raw_topic, deadline)
        peak = peak_rss_mib(local_flink.gateway_pid())
        consumer = _consumer(broker, out_topic)
        while len(stamps) < records and time.monotonic() < deadline:
            stamps.extend(m.timestamp()[1] for m in consumer.consume(10_000, 1.0) if not m.error())
    finally:
        _stop(result, consumer, checkpoints)
    assert len(stamps) == records, f"passthrough wrote {len(stamps)} of {records} records"
    return {"events": records, "rate": _rate(stamps), "peak_rss_mib": peak}


def _wait_until_taken(broker, group: str, raw_topic: str, deadline: float) -> None:
    """Until the job's group has committed (on a checkpoint) the whole raw topic.

    Reading the output meanwhile would take a Python process's share of the two cores from the job: the
    rate comes from the sink's record timestamps, so the output is read once the job is through.
    """
    while not offsets.group_caught_up(broker.bootstrap_servers, group, raw_topic):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the job did not take all of {raw_topic} in time")
        time.sleep(1.0)


def job_latency(
    broker, job_settings, rate: int, seconds: float, symbols: list[str], warmup: float = 5.0
) -> dict:
    """Latencies of the ticks sent after `warmup` seconds of the same rate (JIT, first checkpoints)."""
    suffix = f".lat{time.monotonic_ns()}"
    topics = market_data.topics(suffix)
    for name in topics.values():
        broker.create_topic(name, PARTITIONS)
    checkpoints = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    result = flink_jobs.submit(
        "market-data", job_settings, broker.bootstrap_servers, checkpoint_dir=checkpoints, topic_suffix=suffix
    )
    consumer = _consumer(broker, topics["processed_topic"])
    sent = {"count": 0}

    def feed() -> None:
        producer = _producer(broker)
        start, i = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < warmup + seconds:
            due = int(elapsed * rate)
            now = int(time.time() * 1000)
            while i < due:
                s = i % len(symbols)
                producer.produce(
                    topics["raw_topic"],
                    _tick(symbols[s], now, 100.0 + (i % 97) / 10, 1),
                    symbols[s].encode(),
                    partition=s % PARTITIONS,
                )
                i += 1
            producer.poll(0)
            time.sleep(0.005)
        sent["count"] = i
        _flush_watermark(producer, topics["raw_topic"], int(time.time() * 1000) + 60_000)

    try:
        while not any(checkpoints.glob("*/chk-*")):  # running, sources assigned
            time.sleep(0.2)
        feeder = threading.Thread(target=feed)
        feeder.start()
        measured_from = time.time() * 1000 + warmup * 1000
        written, visible, received, deadline = [], [], 0, time.monotonic() + warmup + seconds + 120
        while (feeder.is_alive() or received < sent["count"]) and time.monotonic() < deadline:
            for message in consumer.consume(10_000, 0.5):
                if message.error():
                    continue
                received += 1
                now = time.time() * 1000
                # orjson: the reader shares the two cores with the job, so it spends as little as it can.
                event = orjson.loads(message.value())["timestamp"]
                if event >= measured_from:
                    written.append(message.timestamp()[1] - event)
                    visible.append(now - event)
        feeder.join()
    finally:
        _stop(result, consumer, checkpoints)
    return {
        "sent": sent["count"],
        "rate": sent["count"] / (warmup + seconds),
        "received": received,
        "measured": len(written),
        "p95_written": np.percentile(written, 95) / 1000,
        "p95_visible": np.percentile(visible, 95) / 1000,
    }


def engine_ceiling(rows: int, parallelism: int) -> dict:
    """Flink's datagen -> projection/filter -> blackhole at the same volume: what the engine does here."""
    tables = local_flink.table_environment(parallelism=parallelism)
    tables.execute_sql(f"""CREATE TEMPORARY TABLE gen (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT)
        WITH ('connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '100000000',
              'fields.symbol.length' = '4')""")
    tables.execute_sql(
        "CREATE TEMPORARY TABLE sink (symbol STRING, price DOUBLE, volume BIGINT) "
        "WITH ('connector' = 'blackhole')"
    )
    result = tables.execute_sql(
        "INSERT INTO sink SELECT UPPER(symbol), price * 2, volume FROM gen WHERE price > 0"
    )
    execution = result.get_job_client().get_job_execution_result().result()
    seconds = execution.get_net_runtime() / 1000
    local_flink.shutdown()
    return {"events": rows, "rate": rows / seconds}


class NaiveIndicators:
    """The naive approach: one Python consumer, json.loads per record, indicators per record."""

    def __init__(self) -> None:
        self.prices = collections.defaultdict(lambda: collections.deque(maxlen=50))
        self.rsi = {}

    def enrich(self, data: dict) -> dict:
        window = self.prices[data["symbol"]]
        previous = window[-1] if window else None
        window.append(data["price"])
        last20 = list(window)[-20:]
        if len(last20) == 20:
            mean = sum(last20) / 20
            sigma = math.sqrt(sum((p - mean) ** 2 for p in last20) / 20)
            data.update(sma_20=mean, bollinger_upper=mean + 2 * sigma, bollinger_lower=mean - 2 * sigma)
        if len(window) == 50:
            data["sma_50"] = sum(window) / 50
        if previous is not None:
            change = data["price"] - previous
            gain, loss = self.rsi.get(data["symbol"], (0.0, 0.0))
            gain, loss = (gain * 13 + max(change, 0)) / 14, (loss * 13 + max(-change, 0)) / 14
            self.rsi[data["symbol"]] = (gain, loss)
            if gain + loss:
                data["rsi_14"] = 100 * gain / (gain + loss)
        return data


def naive_python(broker, raw_topic: str, messages: int) -> dict:
    out_topic = f"naive-out{time.monotonic_ns()}"
    broker.create_topic(out_topic, PARTITIONS)
    consumer, producer, naive = _consumer(broker, raw_topic), _producer(broker), NaiveIndicators()
    done, started = 0, None
    while done < messages:
        for message in consumer.consume(1000, 1.0):
            if message.error():
                continue
            started = started or time.monotonic()
            data = json.loads(message.value())
            if data.get("price", 0) > 0 and data.get("volume", -1) >= 0:
                data["symbol"] = data["symbol"].upper().strip()
                producer.produce(out_topic, json.dumps(naive.enrich(data)).encode())
                producer.poll(0)
            done += 1
    producer.flush(60)
    consumer.close()
    return {"events": done, "rate": done / (time.monotonic() - started)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # 5M: at 100k/s a 1M run lasts ~10 s, most of it the fresh JVM's JIT warm-up; 5M measures the job.
    parser.add_argument("--ticks", type=int, default=5_000_000)
    parser.add_argument("--symbols", type=int, default=5000)
    parser.add_argument("--naive-ticks", type=int, default=150_000)
    parser.add_argument(
        "--latency-rate", type=int, help="events/s offered; default: half the job's throughput"
    )
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--latency-warmup", type=float, default=15.0, help="s at the rate before measuring")
    parser.add_argument("--out-of-orderness", type=int, default=200, help="ms, the watermark's bound")
    parser.add_argument(
        "--state-backend", choices=["rocksdb", "hashmap"], help="default: the local settings'"
    )
    parser.add_argument(
        "--timers", choices=["heap", "rocksdb"], help="where RocksDB keeps timers; default: the settings'"
    )
    parser.add_argument("--parallelism", type=int, help="default: the local settings'")
    args = parser.parse_args()
    job_settings = settings(args.out_of_orderness, args.state_backend, args.parallelism, args.timers)
    single = job_settings.model_copy(update={"parallelism": 1})
    symbols = [f"S{i:04d}" for i in range(args.symbols)]
    base = int(time.time() * 1000) - 86_400_000  # the same ticks for both parallelisms
    with KafkaBroker() as broker:
        print(
            f"market-data job, parallelism {job_settings.parallelism}, {job_settings.state.backend} state "
            f"({job_settings.state.timers} timers), "
            f"{args.ticks:,} ticks over {len(symbols):,} symbols ...",
            flush=True,
        )
        job = job_throughput(broker, job_settings, args.ticks, symbols, base)
        print("Kafka -> Kafka passthrough ...", flush=True)
        through = passthrough(broker, job_settings, job["raw_topic"], args.ticks + PARTITIONS)
        print("market-data job, parallelism 1 ...", flush=True)
        job_1 = job_throughput(broker, single, args.ticks, symbols, base)
        print("engine ceiling (datagen -> blackhole) ...", flush=True)
        # The engine's ceiling on this machine: always at the local settings' parallelism.
        ceiling = engine_ceiling(args.ticks, config.settings("local").parallelism)
        print("naive Python consumer ...", flush=True)
        naive = naive_python(broker, job["raw_topic"], min(args.naive_ticks, args.ticks))
        rate = args.latency_rate or int(job["rate"] / 2)
        print(f"latency at {rate:,}/s for {args.latency_seconds:.0f}s ...", flush=True)
        latency = job_latency(
            broker, job_settings, rate, args.latency_seconds, symbols, warmup=args.latency_warmup
        )
    parallelism = job_settings.parallelism
    rows = [
        (
            "Flink datagen -> blackhole (ceiling)",
            ceiling["events"],
            ceiling["rate"],
            job["rate"] / ceiling["rate"],
        ),
        (
            "Kafka -> Kafka passthrough, exactly-once",
            through["events"],
            through["rate"],
            job["rate"] / through["rate"],
        ),
        (f"market-data job, parallelism {parallelism}", job["events"], job["rate"], 1.0),
        ("market-data job, parallelism 1", job_1["events"], job_1["rate"], job["rate"] / job_1["rate"]),
        ("naive Python consumer (brief)", naive["events"], naive["rate"], job["rate"] / naive["rate"]),
    ]
    print(f"\n{'run':<48}{'events':>10}{'events/s':>12}{'job / this':>12}")
    for name, events, rate, ratio in rows:
        print(f"{name:<48}{events:>10,}{rate:>12,.0f}{ratio:>12.2f}")
    print(
        f"peak RSS of the Flink JVM (MiB): job p{parallelism} {job['peak_rss_mib']:,.0f}, "
        f"p1 {job_1['peak_rss_mib']:,.0f}, passthrough {through['peak_rss_mib']:,.0f}"
    )
    print(
        f"last checkpoint per symbol: {job['state_bytes_per_symbol']:,.0f} bytes (p{parallelism}), "
        f"{job_1['state_bytes_per_symbol']:,.0f} bytes (p1)"
    )
    print(f"dead letters of the {job['events']:,} valid ticks, by reason: {job['dead_letters'] or 'none'}")
    print(
        f"\nlatency at {latency['rate']:,.0f} events/s offered "
        f"({latency['received']:,} of {latency['sent']:,} out, the {latency['measured']:,} after a "
        f"{args.latency_warmup:.0f} s warm-up measured), watermark bound {args.out_of_orderness} ms, "
        f"checkpoint every {job_settings.checkpoint.interval} ms:"
    )
    print(f"  p95 event time -> written by the job's sink      {latency['p95_written']:.3f} s")
    print(f"  p95 event time -> visible to read_committed      {latency['p95_visible']:.3f} s")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
