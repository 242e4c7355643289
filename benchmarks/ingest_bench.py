"""Ingest benchmark: the synthetic connector path into Kafka vs Kafka's own ProducerPerformance.

Both run in this script on one fresh local broker, into topics made from the catalog's market-data-raw
entry (24 partitions, lz4), with the same producer settings (acks=all, idempotence, linger, batch size)
and the same payloads: the tool sends the connector's own serialized records from a payload file.
Rounds alternate between the two so machine noise hits both; the table shows the median of the rounds and
the headline is the median of the per-round ratios. The tool sends unkeyed records (sticky partitioner,
fuller batches); the connector keys by symbol, as per-symbol order needs.

    PYTHONPATH=. $VENV/bin/python benchmarks/ingest_bench.py [--records 300000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.catalog import Catalog, catalog
from app.catalog.admin import ensure_topics
from app.connectors.config import SourceConfig
from app.connectors.cursor import CursorStore
from app.connectors.runtime import Connector
from app.connectors.synthetic import SyntheticOptions
from app.local.kafka import KafkaBroker, java_command
from app.schemas import serialize, validate

LINGER_MS, BATCH_BYTES = 5, 1_000_000
_TOOL_LINE = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th"
)


def bench_topics(suffix: str) -> Catalog:
    """market-data-raw and its dead letter, as the catalog defines them, under run-specific names."""
    return Catalog([catalog()["market-data-raw"], catalog()["market-data-dead-letter"]]).with_suffix(suffix)


async def _python_round(bootstrap: str, records: int, suffix: str, state: Path) -> dict:
    config = SourceConfig(name="synthetic-bench", adapter="synthetic", topic="market-data-raw")
    options = SyntheticOptions(symbols=500, rate=0, batch_size=5000, total=records)
    topics = bench_topics(suffix)
    connector = Connector(config, options, bootstrap, CursorStore(state), topics=topics, topic_suffix=suffix)
    started = time.perf_counter()
    await connector.run()
    elapsed = time.perf_counter() - started
    assert connector.producer.delivered_total == records, (connector.producer.delivered_total, records)
    latencies = np.fromiter(connector.producer.latencies, float)
    return {"rate": records / elapsed, "p95_ms": float(np.percentile(latencies, 95)) * 1000}


def _tool_round(bootstrap: str, records: int, topic: str, payloads: Path) -> dict:
    command = java_command(
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--throughput",
        "-1",
        "--payload-file",
        str(payloads),
        "--producer-props",
        f"bootstrap.servers={bootstrap}",
        "acks=all",
        "enable.idempotence=true",
        "compression.type=lz4",
        f"linger.ms={LINGER_MS}",
        f"batch.size={BATCH_BYTES}",
        heap=["-Xms64m", "-Xmx256m"],
    )
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    match = _TOOL_LINE.search(out.stdout)
    if out.returncode or not match:
        raise RuntimeError(
            f"ProducerPerformance failed ({out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    return {"rate": float(match[2]), "p95_ms": float(match[7])}


def sample_payloads(path: Path, count: int = 20_000) -> float:
    """The connector's own serialized records, one a line, for the tool; returns their mean size."""
    import app.connectors.synthetic as synthetic

    async def collect():
        from app.connectors.runtime import SourceContext

        options = SyntheticOptions(symbols=500, rate=0, batch_size=5000, total=count)
        config = SourceConfig(name="sample", adapter="synthetic", topic="market-data-raw")
        source = synthetic.SyntheticSource(SourceContext(config, options, None, None))
        return [
            serialize(validate("market_event", r))
            for b in [b async for b in source.batches(None)]
            for r in b.records
        ]

    values = asyncio.run(collect())
    path.write_bytes(b"\n".join(values))
    return sum(map(len, values)) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=300_000, help="records per run (default 300000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side (default 3)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="wh-ingest-bench-"))
    payloads = work / "payloads.txt"
    size = sample_payloads(payloads)
    print(f"payload: connector-serialized price ticks, mean {size:.0f} bytes; {args.records} records per run")
    results: dict[str, list[dict]] = {"python": [], "tool": []}
    with KafkaBroker() as broker:
        bootstrap = broker.bootstrap_servers
        for n in range(args.rounds):
            ensure_topics(bootstrap, bench_topics(f"-bench-tool{n}"))
            ensure_topics(bootstrap, bench_topics(f"-bench-py{n}"))
            results["tool"].append(
                _tool_round(bootstrap, args.records, f"market-data-raw-bench-tool{n}", payloads)
            )
            print(
                f"  round {n + 1}: ProducerPerformance {results['tool'][-1]['rate']:>10,.0f} ev/s", flush=True
            )
            results["python"].append(
                asyncio.run(_python_round(bootstrap, args.records, f"-bench-py{n}", work / f"state{n}"))
            )
            print(
                f"  round {n + 1}: python connector   {results['python'][-1]['rate']:>10,.0f} ev/s",
                flush=True,
            )

    def med(side: str, key: str) -> float:
        return statistics.median(r[key] for r in results[side])

    rows = [
        ("Kafka ProducerPerformance (baseline)", med("tool", "rate"), med("tool", "p95_ms")),
        ("synthetic connector -> TopicProducer", med("python", "rate"), med("python", "p95_ms")),
    ]
    print(f"\n{'path':<40} {'events/s':>12} {'p95 latency ms':>15}")
    for name, rate, p95 in rows:
        print(f"{name:<40} {rate:>12,.0f} {p95:>15.1f}")
    ratios = [p["rate"] / t["rate"] for p, t in zip(results["python"], results["tool"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"\nratio connector/tool per round: {' '.join(f'{r:.2f}' for r in ratios)}")
    print(f"median ratio: {ratio:.2f} ({ratio:.0%} of ProducerPerformance's rate; target >= 80%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
