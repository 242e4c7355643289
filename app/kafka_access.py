"""Who may do what on Kafka: each workload's topics, consumer groups and transactional ids; its KafkaUser.

Each workload's access is derived from the code that already names it, never listed by hand:
- a connector group per raw topic its sources write (app/connectors/sources.yaml): that topic (whose
  max.message.bytes the producer reads) and its pipeline's dead-letter topic;
- each Flink job (app/flink/jobs.py): its raw topic under its consumer group (app/flink/jobs.yaml), its
  output and dead-letter topics, written in transactions under its transactional-id prefix;
- each load (app/sinks/loads.py): its topic under its consumer group, its pipeline's dead-letter topic;
- triage: people reading the dead-letter topics, the one place bad records and their reasons are kept.
The daily batch has no Kafka client (it reads the lake), so it has no KafkaUser.
A KafkaUser authenticates with its TLS client certificate and gets exactly these ACLs (Strimzi `simple`
authorization); `unread_topics` names catalog topics that no workload may read.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.catalog import Catalog, catalog
from app.connectors.config import load_sources
from app.flink import config as flink_config
from app.flink import jobs
from app.kafka_client import CLUSTER
from app.sinks.loads import LOADS

KAFKA_USER_API = "kafka.strimzi.io/v1beta2"
TRIAGE_USER = "triage"
TRIAGE_GROUP_PREFIX = f"{TRIAGE_USER}-"


@dataclass(frozen=True)
class Workload:
    name: str  # its KafkaUser, and the Secret Strimzi writes its certificate into
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # consumer groups, by name
    group_prefixes: tuple[str, ...] = ()  # consumer groups, by prefix (a person picks a name)
    transactional_id_prefixes: tuple[str, ...] = ()
    inspects: tuple[str, ...] = ()  # topics whose configuration it reads (DescribeConfigs)

    def acls(self) -> list[dict]:
        """Strimzi ACL rules: read, write, configs per topic; read per group; transactions per prefix."""
        rules = []
        for topic in sorted({*self.reads, *self.writes, *self.inspects}):
            operations = ["Describe"]
            operations += ["Read"] if topic in self.reads else []
            operations += ["Write"] if topic in self.writes else []
            operations += ["DescribeConfigs"] if topic in self.inspects else []
            rules.append(_rule("topic", topic, "literal", operations))
        rules += [_rule("group", group, "literal", ["Read"]) for group in sorted(self.groups)]
        rules += [_rule("group", prefix, "prefix", ["Read"]) for prefix in sorted(self.group_prefixes)]
        rules += [
            _rule("transactionalId", prefix, "prefix", ["Describe", "Write"])
            for prefix in sorted(self.transactional_id_prefixes)
        ]
        return rules


def _rule(resource_type: str, name: str, pattern: str, operations: list[str]) -> dict:
    return {
        "resource": {"type": resource_type, "name": name, "patternType": pattern},
        "operations": operations,
        "host": "*",
    }


def connector_user(topic: str) -> str:
    return f"connect-{topic}"


def flink_user(job: str) -> str:
    return f"flink-{job}"


def workloads(env: str, topics: Catalog | None = None) -> list[Workload]:
    """Every Kafka workload of the environment (the Flink jobs' consumer groups are per environment)."""
    topics = topics or catalog()
    found = []
    for topic in sorted({source.topic for source, _ in load_sources().values()}):
        dead_letter = topics.dead_letter(topics[topic].pipeline).name
        found.append(
            Workload(connector_user(topic), writes=(topic, dead_letter), inspects=(topic,)),
        )
    settings = flink_config.settings(env)
    for name, job in sorted(jobs.JOBS.items()):
        found.append(
            Workload(
                flink_user(name),
                reads=(job.RAW_TOPIC,),
                writes=(job.PROCESSED_TOPIC, topics.dead_letter(job.PIPELINE).name),
                groups=(job.consumer_group(settings),),
                transactional_id_prefixes=(job.TRANSACTIONAL_ID_PREFIX,),
            )
        )
    for load in sorted(LOADS.values(), key=lambda load: load.group):
        dead_letter = topics.dead_letter(topics[load.topic].pipeline).name
        found.append(Workload(load.group, reads=(load.topic,), writes=(dead_letter,), groups=(load.group,)))
    found.append(
        Workload(
            TRIAGE_USER,
            reads=tuple(t.name for t in topics if t.kind == "dead-letter"),
            group_prefixes=(TRIAGE_GROUP_PREFIX,),
        )
    )
    return found


def unread_topics(found: list[Workload], topics: Catalog | None = None) -> list[str]:
    """Catalog topics no workload may read: data written there would never reach anyone."""
    readable = {topic for workload in found for topic in workload.reads}
    return [topic.name for topic in topics or catalog() if topic.name not in readable]


def unknown_topics(found: list[Workload], topics: Catalog | None = None) -> list[str]:
    """Topics some workload is granted that the catalog does not define (no KafkaTopic would make them)."""
    known = {topic.name for topic in topics or catalog()}
    named = {t for w in found for t in (*w.reads, *w.writes, *w.inspects)}
    return sorted(named - known)


def kafka_users(env: str, namespace: str, cluster: str = CLUSTER) -> list[dict]:
    """One KafkaUser per workload: TLS client-certificate authentication and its ACLs."""
    return [
        {
            "apiVersion": KAFKA_USER_API,
            "kind": "KafkaUser",
            "metadata": {
                "name": workload.name,
                "namespace": namespace,
                "labels": {"strimzi.io/cluster": cluster},
            },
            "spec": {
                "authentication": {"type": "tls"},
                "authorization": {"type": "simple", "acls": workload.acls()},
            },
        }
        for workload in workloads(env)
    ]
