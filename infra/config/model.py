"""Typed shape of one environment file (infra/config/<env>.yaml): types, ranges and allowed values.

Cross-field safety rules (prod must be multi-AZ, ...) live in `infra.config.policy`.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.sinks import lake_layout

# CloudWatch Logs accepts only these retention periods.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922)
KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33")


def _between(lo: int, hi: int) -> AfterValidator:
    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return AfterValidator(check)


def _one_of(allowed: tuple) -> AfterValidator:
    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return value

    return AfterValidator(check)


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 CIDR like 10.20.0.0/16 ({exc})") from None
    if not 16 <= network.prefixlen <= 20:
        raise ValueError(
            "must be a /16 to /20 network, to leave room for a public and a private subnet per AZ"
        )
    return value


RetentionDays = Annotated[int, _one_of(RETENTION_DAYS)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


class Section(BaseModel):
    """A config section: strict types, and an unknown key is named along with the allowed ones."""

    model_config = ConfigDict(strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"unknown key {unknown[0]!r}; allowed keys: {', '.join(cls.model_fields)}")
        return data


class Tags(Section):
    owner: Name
    cost_center: Annotated[str, Field(pattern=r"^CC-[0-9]{4}$")]
    data_classification: Literal["public", "internal", "confidential", "restricted"]


class Network(Section):
    cidr: Annotated[str, AfterValidator(_cidr)]
    az_count: Annotated[int, _between(1, 6)]
    nat_gateway_per_az: bool
    flow_log_retention_days: RetentionDays


class NodeGroup(Section):
    instance_types: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z0-9]+$")]], Field(min_length=1)
    ]
    capacity_type: Literal["ON_DEMAND", "SPOT"]
    min_size: Annotated[int, _between(0, 100)]
    desired_size: Annotated[int, _between(0, 100)]
    max_size: Annotated[int, _between(1, 100)]
    disk_size_gib: Annotated[int, _between(20, 2000)]
    # Dedicated groups carry the taint workload-type=<group name>:NoSchedule; every group has the label.
    dedicated: bool

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroup:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                "sizes must satisfy min_size <= desired_size <= max_size "
                f"(got {self.min_size} <= {self.desired_size} <= {self.max_size})"
            )
        return self


class Eks(Section):
    kubernetes_version: Annotated[str, _one_of(KUBERNETES_VERSIONS)]
    endpoint_public_access: bool
    public_access_cidrs: list[str]
    log_retention_days: RetentionDays
    ebs_csi_driver_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$")]
    node_groups: Annotated[dict[Name, NodeGroup], Field(min_length=1)]


def _lake_ingest(value: dict[str, float]) -> dict[str, float]:
    buckets = [bucket.suffix for bucket in lake_layout.BUCKETS]
    unknown = sorted(set(value) - set(buckets))
    if unknown:
        raise ValueError(f"unknown bucket {unknown[0]!r}; the lake's buckets are {', '.join(buckets)}")
    missing = [name for name in buckets if name not in value]
    if missing:
        raise ValueError(
            f"give every lake bucket its GiB per day (0 for none); missing: {', '.join(missing)}"
        )
    for name, gib in value.items():
        if not 0 <= gib <= 1_000_000:
            raise ValueError(f"{name}: GiB per day must be between 0 and 1000000, got {gib}")
    return value


class DataLake(Section):
    noncurrent_version_expiration_days: Annotated[int, _between(1, 3650)]
    # S3 server access logs of the lake and state buckets (kept in the state stack's access-log bucket).
    access_log_retention_days: Annotated[int, _between(1, 3650)]
    force_destroy: bool
    # What each lake bucket takes in a day, in GiB as stored (compressed Parquet/JSON): `wh cost ENV`.
    ingest_gib_per_day: Annotated[dict[str, float], AfterValidator(_lake_ingest)]


class Features(Section):
    deletion_protection: bool
    # EKS managed add-ons (EBS CSI driver). The local AWS emulator has no add-on API.
    eks_addons: bool
    # GitHub Actions' OIDC roles (state stack) and their EKS access entries; the emulator has no
    # access-entry API.
    ci_access: bool


class KafkaPool(Section):
    """A Strimzi KafkaNodePool: its node count and each node's persistent volumes (gp3, JBOD)."""

    replicas: Annotated[int, _between(1, 30)]
    volumes: Annotated[int, _between(1, 4)]
    volume_gib: Annotated[int, _between(1, 16000)]


class Kafka(Section):
    """The Strimzi Kafka cluster (KRaft): controllers and brokers in their own node pools. Topic and
    broker replication scale down to `brokers.replicas` (app.catalog's one rule)."""

    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]  # one the pinned Strimzi runs
    controllers: KafkaPool
    brokers: KafkaPool
    # The SCRAM-SHA-512 listener behind a load balancer, for clients outside the cluster.
    external_listener: bool


class Chart(Section):
    repository: Annotated[str, Field(pattern=r"^(https|oci)://\S+$")]
    chart: Name
    version: Annotated[str, Field(pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+$")]
    namespace: Name


class Operators(Section):
    """Helm releases of the operators stack; the stack installs them in dependency order."""

    cert_manager: Chart
    kube_prometheus_stack: Chart
    strimzi: Chart
    flink_operator: Chart
    spark_operator: Chart
    cluster_autoscaler: Chart
    keda: Chart  # lag-based autoscaling of the sinks
    external_secrets: Chart  # secrets from AWS Secrets Manager
    cloudnative_pg: Chart  # the database operator (TimescaleDB on PostgreSQL)


class Emulator(Section):
    """The AWS provider talks to a local emulator (moto server) instead of AWS: required in `local`, allowed
    in development and ephemeral tiers (a rehearsal of their deploys), never in staging or production."""

    default_endpoint: Annotated[str, Field(pattern=r"^http://(127\.0\.0\.1|localhost):[0-9]{2,5}$")]
    # local: state files beside the stacks. s3: the environment's S3 backend and DynamoDB lock table,
    # created on the emulator by its state stack as in a real account (bootstrap, migration, locking).
    state_backend: Literal["local", "s3"]
    # true: the kubernetes/helm providers talk to the local Kubernetes API (infra.kube, its kubeconfig in
    # TF_VAR_kubeconfig) instead of the cluster's EKS endpoint, so the operators and platform stacks deploy
    # too; the operators stack then installs the operators' CRDs, not their charts (no chart repository is
    # reachable offline), and no release waits for pods (nothing runs them). false: those stacks are skipped.
    kube_apiserver: bool = False


def control_plane_log_group(cluster_name: str) -> str:
    """The group EKS writes a cluster's control-plane logs to (it creates it itself unless it exists)."""
    return f"/aws/eks/{cluster_name}/cluster"


# The platform stack's components (its charts besides the namespace's wiring), each with those it needs.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "kafka": (),
    "flink_jobs": ("kafka",),
    "database": (),
    "services": ("kafka", "database"),
    "batch": ("database",),
    "monitoring": (),
}


class EnvironmentConfig(Section):
    name: Name  # set by the loader from the file name
    tier: Literal["production", "staging", "development", "ephemeral", "local"]
    account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
    tags: Tags
    network: Network
    eks: Eks
    data_lake: DataLake
    features: Features
    operators: Operators
    kafka: Kafka
    emulator: Emulator | None = None
    # The components the platform stack deploys: all by default.
    components: list[Literal[tuple(COMPONENTS)]] = Field(default_factory=lambda: list(COMPONENTS))

    @property
    def cluster_name(self) -> str:
        return f"waardhaven-{self.name}"

    @property
    def local_kubernetes(self) -> bool:
        """The Kubernetes stacks talk to the local Kubernetes API (see Emulator.kube_apiserver)."""
        return self.emulator is not None and self.emulator.kube_apiserver

    @property
    def control_plane_log_group(self) -> str:
        return control_plane_log_group(self.cluster_name)

    @property
    def default_tags(self) -> dict[str, str]:
        return {
            "environment": self.name,
            "owner": self.tags.owner,
            "cost-center": self.tags.cost_center,
            "data-classification": self.tags.data_classification,
            "managed-by": "cdktf",
        }
