"""The pipeline's local services started together, ready for data: Kafka with the catalog's topics,
PostgreSQL with the sql/ migrations applied. Stopped in reverse order on exit, also on Ctrl-C.

    with local_services() as services:
        services.broker.bootstrap_servers, services.postgres.dsn
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from app import migrations
from app.catalog.admin import ensure_topics
from app.local.kafka import KafkaBroker
from app.local.postgres import Postgres


@dataclass(frozen=True)
class LocalServices:
    broker: KafkaBroker
    postgres: Postgres


@contextmanager
def local_services(say: Callable[[str], None] = lambda _: None) -> Iterator[LocalServices]:
    with ExitStack() as stack:
        started = time.monotonic()
        say("starting Kafka 3.9.1 (KRaft) ...")
        broker = stack.enter_context(KafkaBroker())
        say(f"Kafka on {broker.bootstrap_servers} (pid {broker.pid}) in {time.monotonic() - started:.1f}s")
        started = time.monotonic()
        say("starting PostgreSQL 15 ...")
        postgres = stack.enter_context(Postgres())
        where = f"127.0.0.1:{postgres.port} (pid {postgres.pid})"
        say(f"PostgreSQL on {where} in {time.monotonic() - started:.1f}s")
        say(f"topics created from the catalog: {', '.join(ensure_topics(broker.bootstrap_servers))}")
        applied = migrations.apply(postgres.dsn)
        say(f"migrations applied: {', '.join(m.path.name for m in applied)}")
        yield LocalServices(broker, postgres)
        say("stopping services")
