"""Show the topic catalog, render it as Strimzi KafkaTopic resources, create its topics on a broker, or
verify they are there (exit 1 naming each missing or different one).

Replicas and min.insync.replicas follow the catalog's one scaling rule for --brokers (or, with --create,
the broker count the cluster reports).
"""

from __future__ import annotations

import argparse

from app.kafka_client import NAMESPACE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--strimzi", action="store_true", help="print KafkaTopic resources (YAML)")
    action.add_argument("--create", metavar="BOOTSTRAP", help="create missing topics on this Kafka")
    action.add_argument(
        "--verify", metavar="BOOTSTRAP", help="check the topics exist on this Kafka with their partitions"
    )
    parser.add_argument("--kind", help="with --verify: only the topics of this kind (e.g. dead-letter)")
    parser.add_argument("--brokers", type=int, help="scale replicas to this many brokers")
    parser.add_argument("--namespace", default=NAMESPACE, help="for --strimzi (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from app.catalog import catalog

    if args.strimzi:
        from app.catalog.strimzi import render_yaml

        print(render_yaml(brokers=args.brokers, namespace=args.namespace), end="")
        return 0
    if args.create:
        from app.catalog.admin import ensure_topics

        created = ensure_topics(args.create)
        print(f"created: {', '.join(created) or 'nothing (all present)'}")
        return 0
    if args.verify:
        from app.catalog.admin import verify_topics

        chosen = [t for t in catalog() if args.kind in (None, t.kind)]
        problems = verify_topics(args.verify, chosen) if chosen else [f"no topic of kind {args.kind!r}"]
        for problem in problems:
            print(f"wh topics: {problem}")
        print(f"{len(chosen) - len(problems)} of {len(chosen)} topics as the catalog defines them")
        return 1 if problems else 0
    topics = catalog().scaled(args.brokers) if args.brokers else catalog()
    header = ("topic", "pipeline", "kind", "parts", "repl", "minisr")
    print("{:<30}{:<18}{:<13}{:>6}{:>6}{:>7}  retention  compression".format(*header))
    for t in topics:
        print(
            f"{t.name:<30}{t.pipeline:<18}{t.kind:<13}{t.partitions:>6}{t.replicas:>6}{t.min_insync_replicas:>7}"
            f"  {t.retention:<9}  {t.compression}"
        )
    return 0
