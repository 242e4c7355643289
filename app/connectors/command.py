"""Run connectors from app/connectors/sources.yaml into Kafka until interrupted (or their sources end), or
list and check the sources.

`wh connect SOURCE [SOURCE ...]` runs the sources in one process (sharing each API key's rate limit);
one that fails stops alone, and the command ends 1 once the others are done. Credentials come from the
environment variables each source's `auth.env` names. Cursors and daily/monthly quota counts live in
--state-dir, so stopping (Ctrl-C / SIGTERM: the batch in hand is finished, flushed and its cursor saved)
and starting again resumes where it stopped, budget included. Pipeline metrics are served on
127.0.0.1:--metrics-port. `--list` shows every source (also `wh connect` alone); `--check` validates the
configuration without network access (app/connectors/check.py) and ends 1 on a problem.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="*", help="source names in sources.yaml (omit to list them)")
    parser.add_argument("--list", action="store_true", help="show source, vendor, topic, schedule, quota")
    parser.add_argument("--check", action="store_true", help="validate every source's configuration, offline")
    parser.add_argument("--sources", type=Path, default=None, help="the sources file (default: sources.yaml)")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", help="Kafka (default %(default)s)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path.home() / ".local/state/waardhaven/cursors",
        help="cursor and quota files (share it between connectors that share an API key)",
    )
    parser.add_argument("--metrics-port", type=int, default=0, help="serve /metrics here (0 = off)")
    parser.add_argument("--create-topics", action="store_true", help="create the catalog's topics first")


def _list(sources: dict) -> None:
    from app.connectors.check import rows

    table = [("SOURCE", "VENDOR", "ADAPTER", "TOPIC", "SCHEDULE", "QUOTA", "CREDENTIAL")]
    table += [
        (r.source, r.vendor, r.adapter, r.topic, r.schedule, r.quota, r.credential) for r in rows(sources)
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _check(sources: dict) -> int:
    from app.connectors.check import credentials_missing, problems

    found = problems(sources)
    for problem in found:
        print(f"connect --check: {problem}")
    for variable, users in sorted(credentials_missing(sources).items()):
        print(f"connect --check: note: {variable} is not set here (needed by {', '.join(users)})")
    print(f"{len(sources)} sources, {len(found)} problem(s)")
    return 1 if found else 0


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal
    import sys

    from app import metrics
    from app.catalog.admin import ensure_topics
    from app.connectors.config import SOURCES_PATH, MissingCredential, load_sources
    from app.connectors.cursor import CursorStore
    from app.connectors.http import VendorError, VendorUnavailable
    from app.connectors.producer import DeliveryFailed
    from app.connectors.quota import QuotaExhausted
    from app.connectors.runtime import Connector, RateLimiters
    from app.yamlconfig import ConfigError

    try:
        sources = load_sources(args.sources or SOURCES_PATH)
    except ConfigError as exc:
        print(f"connect: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return _check(sources)
    if args.list or not args.source:
        _list(sources)
        return 0
    unknown = [name for name in args.source if name not in sources]
    if unknown:
        print(
            f"connect: no source {', '.join(map(repr, unknown))}; known: {', '.join(sources)}",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.create_topics:
        ensure_topics(args.bootstrap_servers)
    if args.metrics_port:
        metrics.serve(args.metrics_port)
    cursors, limiters = CursorStore(args.state_dir), RateLimiters()
    try:
        connectors = [
            Connector(*sources[name], args.bootstrap_servers, cursors, limiters=limiters)
            for name in args.source
        ]
    except MissingCredential as exc:
        print(f"connect: {exc}", file=sys.stderr)
        return 2

    async def main() -> list:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: [c.stop() for c in connectors])
        return await asyncio.gather(*(c.run() for c in connectors), return_exceptions=True)

    # a missing replay file, a corrupt cursor, a refused key, an unacknowledged delivery, a spent quota
    expected = (OSError, ValueError, VendorError, VendorUnavailable, DeliveryFailed, QuotaExhausted)
    failed = 0
    for connector, outcome in zip(connectors, asyncio.run(main()), strict=True):
        if isinstance(outcome, expected):
            print(f"connect: {outcome}", file=sys.stderr)
        elif isinstance(outcome, BaseException):  # a defect: one line, the traceback at debug level
            logging.getLogger(__name__).debug("connector failed", exc_info=outcome)
            print(
                f"connect: {connector.config.name} stopped: {type(outcome).__name__}: {outcome}",
                file=sys.stderr,
            )
        else:
            continue
        failed += 1
    return 1 if failed else 0
