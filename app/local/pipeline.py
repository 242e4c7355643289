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
from contextlib import ExitStack
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


def _timed(what: str):
    started = time.monotonic()
    say(f"{what} ...")
    return lambda: time.monotonic() - started


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


def run(args: argparse.Namespace) -> int:
    import psycopg

    from app import migrations
    from app.catalog import catalog
    from app.catalog.admin import ensure_topics
    from app.local.kafka import KafkaBroker
    from app.local.postgres import Postgres
    from app.local.process import ServiceError
    from app.local.tick_loader import TickLoader
    from app.yamlconfig import ConfigError

    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            done = _timed("starting Kafka 3.9.1 (KRaft)")
            broker = stack.enter_context(KafkaBroker())
            say(f"Kafka on {broker.bootstrap_servers} (pid {broker.pid}) in {done():.1f}s")
            done = _timed("starting PostgreSQL 15")
            postgres = stack.enter_context(Postgres())
            say(f"PostgreSQL on 127.0.0.1:{postgres.port} (pid {postgres.pid}) in {done():.1f}s")

            created = ensure_topics(broker.bootstrap_servers)
            say(f"topics created from the catalog: {', '.join(created)}")
            applied = migrations.apply(postgres.dsn)
            say(f"migrations applied: {', '.join(m.path.name for m in applied)}")

            done = _timed(f"producing {args.ticks} synthetic ticks into {RAW_TOPIC}")
            state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wh-cursors-")))
            produced = Stage(
                "produced (connector)", _ingest(broker.bootstrap_servers, args.ticks, args.rate, state), 0
            )
            produced.seconds = done()
            _inject_malformed(broker.bootstrap_servers)
            say(f"plus {len(MALFORMED)} malformed records, which must be dead-lettered")

            topics = catalog()
            expected = produced.count + len(MALFORMED)
            loader = TickLoader(
                broker.bootstrap_servers, postgres.dsn, topics[RAW_TOPIC], topics.dead_letter(PIPELINE)
            )
            done = _timed(f"loading {RAW_TOPIC} into market_data_ts")
            last = [0.0]

            def progress(stats) -> None:
                if time.monotonic() - last[0] > 2:
                    last[0] = time.monotonic()
                    say(f"  {stats.consumed}/{expected} consumed, {stats.inserted} rows inserted")

            stats = loader.run(expected, args.timeout, progress)
            loaded = Stage("consumed + loaded", stats.consumed, done())

            with psycopg.connect(postgres.dsn) as conn:
                table_rows = conn.execute("SELECT count(*) FROM market_data_ts").fetchone()[0]
                symbols = conn.execute("SELECT count(*) FROM daily_market_summary").fetchone()[0]
            dead = broker.consume(topics.dead_letter(PIPELINE).name, len(MALFORMED), timeout=30)

            _print_summary(
                [produced, loaded],
                {
                    "rows inserted": stats.inserted,
                    "duplicates (time, symbol)": stats.duplicates,
                    "rows in market_data_ts": table_rows,
                    "daily summary rows": symbols,
                    "dead-lettered": stats.dead_lettered,
                    "on dead-letter topic": len(dead),
                },
                time.monotonic() - started,
            )
            problems = []
            if stats.consumed != expected:
                problems.append(f"consumed {stats.consumed} of {expected} records within {args.timeout:.0f}s")
            if stats.dead_lettered != len(MALFORMED) or len(dead) != len(MALFORMED):
                problems.append(
                    f"{len(MALFORMED)} malformed records sent, {len(dead)} on the dead-letter topic"
                )
            if table_rows != stats.inserted:
                problems.append(
                    f"market_data_ts holds {table_rows} rows, the loader inserted {stats.inserted}"
                )
            for problem in problems:
                print(f"wh pipeline: {problem}", file=sys.stderr)
            say("stopping services")
            return 1 if problems else 0
    except (ServiceError, ConfigError, migrations.MigrationError) as exc:
        print(f"wh pipeline: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
