"""The pipeline's long-running services in the cluster, derived from the code that defines them:

- a connector Deployment per raw topic (one KafkaUser each, app/kafka_access.py): `wh connect` with every
  source of sources.yaml writing that topic, except the local ones (synthetic ticks, recorded replays) and
  those whose vendor retired the API; its credentials are the variables the sources' `auth.env` name;
- a sink Deployment per load (app/sinks/loads.py): `wh load TOPIC`, its table and its lake dataset in one
  consumer group, the KafkaUser named after the group; its replicas split the topic's partitions, so it
  scales up to as many as the catalog gives the topic.
Each runs under `python -m app.serve`, which serves its metrics on METRICS_PORT, then runs the command.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import kafka_access
from app.catalog import catalog
from app.connectors.config import load_sources
from app.sinks.loads import LOADS

LOCAL_ADAPTERS = frozenset({"synthetic", "replay"})  # a laptop's sources: no vendor behind them
METRICS_PORT = 9400  # `python -m app.serve --metrics-port`
STATE_DIR = "/var/lib/waardhaven/connectors"  # cursors and quota counts (`wh connect --state-dir`)


@dataclass(frozen=True)
class Connector:
    name: str  # its Deployment and its KafkaUser
    topic: str
    sources: tuple[str, ...]
    credentials: tuple[str, ...]  # environment variables holding the vendors' keys


@dataclass(frozen=True)
class Sink:
    name: str  # its Deployment, its consumer group and its KafkaUser
    topic: str
    partitions: int  # of its topic: the most replicas that each get some


def connectors() -> list[Connector]:
    by_topic: dict[str, list] = {}
    for name, (source, _) in load_sources().items():
        if source.adapter in LOCAL_ADAPTERS or source.retired:
            continue
        by_topic.setdefault(source.topic, []).append((name, source))
    return [
        Connector(
            kafka_access.connector_user(topic),
            topic,
            tuple(name for name, _ in found),
            tuple(sorted({s.auth.env for _, s in found if s.auth is not None})),
        )
        for topic, found in sorted(by_topic.items())
    ]


def sinks() -> list[Sink]:
    topics = catalog()
    return [
        Sink(load.group, load.topic, topics[load.topic].partitions)
        for load in sorted(LOADS.values(), key=lambda load: load.group)
    ]


def vendor_credentials() -> list[str]:
    """Every credential variable some connector needs: one Secrets Manager secret each."""
    return sorted({variable for connector in connectors() for variable in connector.credentials})
