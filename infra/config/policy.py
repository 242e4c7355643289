"""Safety rules across keys of one environment: combinations that are each valid but unsafe together."""

from __future__ import annotations

from collections.abc import Iterator

from .model import COMPONENTS, EnvironmentConfig

DATA_PROCESSING_GROUP = "data-processing"
# The Kafka versions each Strimzi release runs (its release notes; 0.45.0: 3.8.0, 3.8.1, 3.9.0).
STRIMZI_KAFKA_VERSIONS = {"0.45.0": ("3.8.0", "3.8.1", "3.9.0")}
# Tiers whose stacks must never point their AWS provider at an emulator.
REAL_ACCOUNT_TIERS = ("production", "staging")


def violations(cfg: EnvironmentConfig) -> Iterator[tuple[str, str]]:
    """Yield (key, problem) for every rule the environment breaks."""
    if cfg.tier == "production":
        if cfg.network.az_count < 2:
            yield "network.az_count", f"production must be multi-AZ: at least 2 (got {cfg.network.az_count})"
        if not cfg.network.nat_gateway_per_az:
            yield "network.nat_gateway_per_az", "production needs one NAT gateway per AZ: must be true"
        if cfg.data_lake.force_destroy:
            yield "data_lake.force_destroy", "production buckets must never be force-destroyed: must be false"
        if not cfg.features.deletion_protection:
            yield "features.deletion_protection", "production must protect stateful resources: must be true"
    if cfg.emulator is None and cfg.tier == "local":
        yield "emulator", "an AWS emulator section is required for tier 'local'"
    if cfg.emulator is not None and cfg.tier in REAL_ACCOUNT_TIERS:
        yield (
            "emulator",
            f"not allowed for tier {cfg.tier!r}: tiers {', '.join(REAL_ACCOUNT_TIERS)} deploy only to their "
            "real account",
        )
    if not cfg.features.eks_addons and cfg.emulator is None:
        yield (
            "features.eks_addons",
            "may be false only with an emulator; real clusters need the EBS CSI add-on",
        )
    if cfg.features.deletion_protection and cfg.data_lake.force_destroy:
        yield "data_lake.force_destroy", "contradicts features.deletion_protection: true; set one of them"
    group = cfg.eks.node_groups.get(DATA_PROCESSING_GROUP)
    if group is None or not group.dedicated:
        yield (
            f"eks.node_groups.{DATA_PROCESSING_GROUP}",
            "a dedicated (tainted) data-processing node group is required: Spark and Flink pods select it",
        )
    yield from _kafka_violations(cfg)
    for component in cfg.components:
        missing = [need for need in COMPONENTS[component] if need not in cfg.components]
        if missing:
            yield (
                "components",
                f"{component} needs {' and '.join(missing)}: enable it too, or leave {component} out",
            )
    if cfg.local_kubernetes and "batch" in cfg.components:
        yield (
            "components",
            "batch cannot run on the local Kubernetes API: the Spark operator's CRDs are in no registry "
            "reachable here (infra/bootstrap/crds.py), so it cannot hold a ScheduledSparkApplication; "
            "leave batch out (the laptop runs the daily batch itself: wh pipeline)",
        )
    if cfg.eks.endpoint_public_access and not cfg.eks.public_access_cidrs:
        yield "eks.public_access_cidrs", "a public API endpoint needs at least one allowed CIDR"


def _kafka_violations(cfg: EnvironmentConfig) -> Iterator[tuple[str, str]]:
    strimzi = cfg.operators.strimzi.version
    runs = STRIMZI_KAFKA_VERSIONS.get(strimzi)
    if runs is None:
        yield (
            "operators.strimzi.version",
            f"no Kafka versions known for Strimzi {strimzi}: add them to policy.py",
        )
    elif cfg.kafka.version not in runs:
        yield "kafka.version", f"Strimzi {strimzi} runs Kafka {', '.join(runs)}, not {cfg.kafka.version}"
    if cfg.kafka.controllers.replicas % 2 == 0:
        yield "kafka.controllers.replicas", "a KRaft quorum needs an odd number of controllers"
    if cfg.kafka.controllers.volumes != 1:
        yield "kafka.controllers.volumes", "a controller keeps its metadata log on one volume: must be 1"
    if cfg.tier == "production" and cfg.kafka.brokers.replicas < 3:
        yield (
            "kafka.brokers.replicas",
            "production replicates every topic 3 times: at least 3 brokers "
            f"(got {cfg.kafka.brokers.replicas})",
        )
