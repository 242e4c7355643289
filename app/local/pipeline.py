"""Run the market-data pipeline locally on real services, then print what went through.

Starts a Kafka broker and a PostgreSQL 15 server on loopback, creates the catalog's topics, applies the
sql/ migrations, runs the synthetic connector into market-data-raw (plus a few malformed records, which
must end on the dead-letter topic with their reason), loads the ticks into market_data_ts and prints
counts and rates. Everything it starts is stopped when it ends, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PIPELINE = "market-data"
RAW_TOPIC = "market-data-raw"
# What a broken producer might send; each must be dead-lettered with a reason, never loaded or dropped.
_TICK = b'"type": "tick", "symbol": "ACME", "volume": 1, "source": "demo"'
MALFORMED = (
    b'{"type": "tick", "symbol": "ACME", "price": 10.5',  # truncated JSON
    b"{" + _TICK + b', "timestamp": 1700000000000}',  # no price
    b"{" + _TICK + b', "timestamp": 1700000000000, "price": -3}',  # negative price
    b"{" + _TICK + b', "timestamp": 1700000000, "price": 3}',  # seconds, not milliseconds
    b"\xff\xfe\x00binary",  # not JSON at all
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ticks", type=int, default=20_000, help="synthetic ticks to push (default 20000)")
    parser.add_argument("--rate", type=float, default=0, help="ticks per second, 0 = as fast as it goes")
    parser.add_argument(
        "--timeout", type=float, default=180, help="seconds allowed for loading (default 180)"
    )


def say(message: str) -> None:
    print(f"[pipeline] {message}", file=sys.stderr, flush=True)


@dataclass
class Stage:
    name: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def _ingest(bootstrap: str, ticks: int, rate: float, state: Path) -> int:
    from app.connectors.config import load_sources
    from app.connectors.cursor import CursorStore
    from app.connectors.runtime import Connector

    config, options = load_sources()["synthetic"]
    options = options.model_copy(update={"total": ticks, "rate": rate})
    connector = Connector(config, options, bootstrap, CursorStore(state))
    asyncio.run(connector.run())
    return connector.sink.delivered_total


def _inject_malformed(bootstrap: str) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for raw in MALFORMED:
        producer.produce(RAW_TOPIC, value=raw, key=b"ACME")
    if producer.flush(30):
        raise RuntimeError(f"malformed samples not delivered to {RAW_TOPIC}")


def _print_summary(stages: list[Stage], rows: dict[str, int], elapsed: float) -> None:
    print(f"{'stage':<28}{'records':>10}{'seconds':>10}{'per second':>12}")
    for stage in stages:
        print(f"{stage.name:<28}{stage.count:>10}{stage.seconds:>10.2f}{stage.rate:>12.0f}")
    for name, count in rows.items():
        print(f"{name:<28}{count:>10}")
    print(f"{'total elapsed':<28}{'':>10}{elapsed:>10.2f}")


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def _produce(services, args: argparse.Namespace, state: Path) -> Stage:
    say(f"producing {args.ticks} synthetic ticks into {RAW_TOPIC} ...")
    started = time.monotonic()
    produced = _ingest(services.broker.bootstrap_servers, args.ticks, args.rate, state)
    stage = Stage("produced (connector)", produced, time.monotonic() - started)
    _inject_malformed(services.broker.bootstrap_servers)
    say(f"plus {len(MALFORMED)} malformed records, which must be dead-lettered")
    return stage


def _load(services, expected: int, timeout: float):
    from app.catalog import catalog
    from app.local.tick_loader import TickLoader

    topics = catalog()
    loader = TickLoader(
        services.broker.bootstrap_servers,
        services.postgres.dsn,
        topics[RAW_TOPIC],
        topics.dead_letter(PIPELINE),
    )
    say(f"loading {RAW_TOPIC} into market_data_ts ...")
    started = last = time.monotonic()

    def progress(stats) -> None:
        nonlocal last
        if time.monotonic() - last > 2:
            last = time.monotonic()
            say(f"  {stats.consumed}/{expected} consumed, {stats.inserted} rows inserted")

    stats = loader.run(expected, timeout, progress)
    return Stage("consumed + loaded", stats.consumed, time.monotonic() - started), stats


def _outcome(services) -> dict[str, int]:
    """What actually landed: rows in the database, letters on the dead-letter topic."""
    import psycopg

    from app.catalog import catalog

    with psycopg.connect(services.postgres.dsn) as conn:
        table_rows = conn.execute("SELECT count(*) FROM market_data_ts").fetchone()[0]
        summary_rows = conn.execute("SELECT count(*) FROM daily_market_summary").fetchone()[0]
    dead = services.broker.consume(catalog().dead_letter(PIPELINE).name, len(MALFORMED), timeout=30)
    return {
        "rows in market_data_ts": table_rows,
        "daily summary rows": summary_rows,
        "on dead-letter topic": len(dead),
    }


def _problems(stats, outcome: dict[str, int], expected: int, timeout: float) -> list[str]:
    problems = []
    letters, rows = outcome["on dead-letter topic"], outcome["rows in market_data_ts"]
    if stats.consumed != expected:
        problems.append(f"consumed {stats.consumed} of {expected} records within {timeout:.0f}s")
    if stats.dead_lettered != len(MALFORMED) or letters != len(MALFORMED):
        problems.append(f"{len(MALFORMED)} malformed records sent, {letters} on the dead-letter topic")
    if rows != stats.inserted:
        problems.append(f"market_data_ts holds {rows} rows, the loader inserted {stats.inserted}")
    return problems


def run(args: argparse.Namespace) -> int:
    from app.local.process import ServiceError
    from app.local.services import local_services
    from app.migrations import MigrationError
    from app.yamlconfig import ConfigError

    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    started = time.monotonic()
    try:
        with local_services(say) as services, tempfile.TemporaryDirectory(prefix="wh-cursors-") as state:
            produced = _produce(services, args, Path(state))
            expected = produced.count + len(MALFORMED)
            loaded, stats = _load(services, expected, args.timeout)
            outcome = _outcome(services)
            rows = {
                "rows inserted": stats.inserted,
                "duplicates (time, symbol)": stats.duplicates,
                "dead-lettered": stats.dead_lettered,
                **outcome,
            }
            _print_summary([produced, loaded], rows, time.monotonic() - started)
            problems = _problems(stats, outcome, expected, args.timeout)
            for problem in problems:
                print(f"wh pipeline: {problem}", file=sys.stderr)
            return 1 if problems else 0
    except (ServiceError, ConfigError, MigrationError) as exc:
        print(f"wh pipeline: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
