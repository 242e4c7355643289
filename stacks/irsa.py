from __future__ import annotations

from constructs import Construct

from app.sinks import lake_layout
from app.sinks.loads import LOADS
from infra import database, vendor_secrets
from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.irsa_role import IrsaRole
from infra.identities import (
    CONNECTORS_SERVICE_ACCOUNT,
    DATA_NAMESPACE,
    FLINK_SERVICE_ACCOUNT,
    SECRETS_SERVICE_ACCOUNT,
    SINKS_SERVICE_ACCOUNT,
    SPARK_SERVICE_ACCOUNT,
)

from .data_lake import DataLakeStack
from .eks import EksStack
from .kms import KmsStack

AUTOSCALER_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey"]


def _bucket_arn(cfg: EnvironmentConfig, bucket: lake_layout.LakeBucket) -> str:
    return f"arn:aws:s3:::{lake_layout.bucket_name(cfg.name, bucket)}"


def _list(
    cfg: EnvironmentConfig, bucket: lake_layout.LakeBucket, prefixes: list[str], *, head_bucket: bool = False
) -> dict:
    """Listing under `prefixes`; with `head_bucket`, also a listing that names no prefix (what HeadBucket,
    a client's check that the bucket exists, is authorized as)."""
    test = "StringLikeIfExists" if head_bucket else "StringLike"
    return {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": _bucket_arn(cfg, bucket),
        "Condition": {test: {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
    }


def _read(
    cfg: EnvironmentConfig, bucket: lake_layout.LakeBucket, prefixes: list[str], *, head_bucket: bool = False
) -> list[dict]:
    arn = _bucket_arn(cfg, bucket)
    return [
        _list(cfg, bucket, prefixes, head_bucket=head_bucket),
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"{arn}/{prefix}*" for prefix in prefixes],
        },
    ]


def _write(
    cfg: EnvironmentConfig, bucket: lake_layout.LakeBucket, prefixes: list[str], *, delete: bool
) -> dict:
    actions = ["s3:AbortMultipartUpload", "s3:PutObject"] + (["s3:DeleteObject"] if delete else [])
    arn = _bucket_arn(cfg, bucket)
    return {"Effect": "Allow", "Action": actions, "Resource": [f"{arn}/{prefix}*" for prefix in prefixes]}


def _load_prefixes() -> dict[lake_layout.LakeBucket, list[str]]:
    """Each bucket the loads write, with their datasets' prefixes in it."""
    found: dict[lake_layout.LakeBucket, set[str]] = {}
    for load in LOADS.values():
        found.setdefault(load.dataset.bucket, set()).add(load.dataset.prefix)
    return {bucket: sorted(found[bucket]) for bucket in sorted(found, key=lambda b: b.suffix)}


class IrsaStack(EnvironmentStack):
    """Least-privilege roles for the pipeline's service accounts and the cluster autoscaler."""

    layer = "irsa"

    def __init__(
        self, scope: Construct, cfg: EnvironmentConfig, eks: EksStack, kms: KmsStack, data_lake: DataLakeStack
    ) -> None:
        super().__init__(scope, cfg)
        self.add_dependency(data_lake)  # grants name its buckets
        oidc = {
            "oidc_provider_arn": eks.cluster.oidc_provider.arn,
            "oidc_issuer_url": eks.cluster.oidc_issuer_url,
        }
        raw_prefixes = [dataset.prefix for dataset in lake_layout.RAW_DATASETS]
        flink_prefixes = [lake_layout.FLINK_CHECKPOINTS, lake_layout.FLINK_SAVEPOINTS, lake_layout.FLINK_HA]
        # The daily batch (app/batch) reads the processed ticks and writes the summaries and their reports.
        batch_reads = [lake_layout.PROCESSED_MARKET_DATA.prefix, lake_layout.DAILY_AGGREGATES.prefix]
        batch_writes = [lake_layout.DAILY_AGGREGATES.prefix, lake_layout.QUALITY_REPORTS.prefix]

        self.flink = IrsaRole(
            self,
            "flink",
            name=f"waardhaven-{cfg.name}-flink",
            namespace=DATA_NAMESPACE,
            service_account=FLINK_SERVICE_ACCOUNT,
            **oidc,
            statements=[
                *_read(cfg, lake_layout.FLINK_STATE, flink_prefixes),
                _write(cfg, lake_layout.FLINK_STATE, flink_prefixes, delete=True),
                {"Effect": "Allow", "Action": KEY_USE, "Resource": kms.data_lake.arn},
            ],
        )
        self.spark = IrsaRole(
            self,
            "spark",
            name=f"waardhaven-{cfg.name}-spark",
            namespace=DATA_NAMESPACE,
            service_account=SPARK_SERVICE_ACCOUNT,
            **oidc,
            statements=[
                *_read(cfg, lake_layout.RAW, raw_prefixes),
                *_read(cfg, lake_layout.PROCESSED, batch_reads),
                _write(cfg, lake_layout.PROCESSED, batch_writes, delete=True),
            ],
        )
        self.connectors = IrsaRole(
            self,
            "connectors",
            name=f"waardhaven-{cfg.name}-connectors",
            namespace=DATA_NAMESPACE,
            service_account=CONNECTORS_SERVICE_ACCOUNT,
            **oidc,
            statements=[_write(cfg, lake_layout.RAW, raw_prefixes, delete=False)],
        )
        # The loads write their lake datasets (app/sinks/loads.py) and check the bucket first (HeadBucket).
        self.sinks = IrsaRole(
            self,
            "sinks",
            name=f"waardhaven-{cfg.name}-sinks",
            namespace=DATA_NAMESPACE,
            service_account=SINKS_SERVICE_ACCOUNT,
            **oidc,
            statements=[
                statement
                for bucket, prefixes in _load_prefixes().items()
                for statement in (
                    _list(cfg, bucket, prefixes, head_bucket=True),
                    _write(cfg, bucket, prefixes, delete=False),
                )
            ],
        )
        self.secrets = IrsaRole(
            self,
            "secrets",
            name=f"waardhaven-{cfg.name}-secrets",
            namespace=DATA_NAMESPACE,
            service_account=SECRETS_SERVICE_ACCOUNT,
            **oidc,
            statements=[
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": [
                        vendor_secrets.arn_pattern(cfg),
                        vendor_secrets.arn_pattern(cfg, database.credentials_secret(cfg.name) + "-"),
                    ],
                },
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms.secrets.arn},
            ],
        )
        # barman-cloud checks the bucket (HeadBucket: s3:ListBucket without a prefix) before it archives;
        # the objects it reads, writes and expires are the backup prefix's alone.
        backups = database.BACKUP_PREFIX
        self.database = IrsaRole(
            self,
            "database",
            name=f"waardhaven-{cfg.name}-database",
            namespace=DATA_NAMESPACE,
            service_account=database.SERVICE_ACCOUNT,
            **oidc,
            statements=[
                *_read(cfg, database.BACKUP_BUCKET, [backups], head_bucket=True),
                _write(cfg, database.BACKUP_BUCKET, [backups], delete=True),
            ],
        )
        self.cluster_autoscaler = IrsaRole(
            self,
            "cluster_autoscaler",
            name=f"waardhaven-{cfg.name}-cluster-autoscaler",
            namespace=AUTOSCALER_NAMESPACE,
            service_account=AUTOSCALER_SERVICE_ACCOUNT,
            **oidc,
            statements=[
                {
                    "Effect": "Allow",
                    "Resource": "*",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                        "eks:DescribeNodegroup",
                    ],
                },
                {
                    "Effect": "Allow",
                    "Resource": "*",
                    "Action": [
                        "autoscaling:SetDesiredCapacity",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    "Condition": {
                        "StringEquals": {
                            f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cfg.cluster_name}": "owned"
                        }
                    },
                },
            ],
        )
