"""Run one connector from app/connectors/sources.yaml into Kafka until interrupted (or its source ends).

Credentials come from the environment variables the source's `auth.env` names. The cursor and the
daily/monthly quota counts live in --state-dir, so stopping (Ctrl-C / SIGTERM: the batch in hand is
finished, flushed and its cursor saved) and starting again resumes where it stopped, budget included.
Pipeline metrics are served on 127.0.0.1:--metrics-port.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", help="source name in sources.yaml (omit to list them)")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", help="Kafka (default %(default)s)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path.home() / ".local/state/waardhaven/cursors",
        help="cursor and quota files (share it between connectors that share an API key)",
    )
    parser.add_argument("--metrics-port", type=int, default=0, help="serve /metrics here (0 = off)")
    parser.add_argument("--create-topics", action="store_true", help="create the catalog's topics first")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal
    import sys

    from app import metrics
    from app.catalog.admin import ensure_topics
    from app.connectors.config import MissingCredential, load_sources
    from app.connectors.cursor import CursorStore
    from app.connectors.http import VendorError, VendorUnavailable
    from app.connectors.producer import DeliveryFailed
    from app.connectors.quota import QuotaExhausted
    from app.connectors.runtime import Connector
    from app.yamlconfig import ConfigError

    try:
        sources = load_sources()
    except ConfigError as exc:
        print(f"connect: {exc}", file=sys.stderr)
        return 2
    if not args.source:
        for name, (config, _) in sources.items():
            print(f"{name:30} {config.adapter:12} -> {config.topic:24} {config.rate_limit or ''}")
        return 0
    if args.source not in sources:
        print(f"connect: no source {args.source!r}; known: {', '.join(sources)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.create_topics:
        ensure_topics(args.bootstrap_servers)
    if args.metrics_port:
        metrics.serve(args.metrics_port)
    config, options = sources[args.source]
    try:
        connector = Connector(config, options, args.bootstrap_servers, CursorStore(args.state_dir))
    except MissingCredential as exc:
        print(f"connect: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, connector.stop)
        await connector.run()

    try:
        asyncio.run(main())
    except (OSError, ValueError, VendorError, VendorUnavailable, DeliveryFailed, QuotaExhausted) as exc:
        # a missing replay file, a corrupt cursor, a refused key, an unacknowledged delivery, a spent quota
        print(f"connect: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a defect; still one line for the operator, the traceback at debug level
        logging.getLogger(__name__).debug("connector failed", exc_info=True)
        print(f"connect: {args.source} stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
