from __future__ import annotations

from pathlib import Path

import yaml
from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from infra import identities, lake_layout
from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.providers import eks_connection, helm_provider
from infra.constructs.storage_class import GP3_STORAGE_CLASS

from .irsa import IrsaStack
from .operators import OperatorsStack

CHARTS_DIR = Path(__file__).resolve().parents[1] / "charts"
PIPELINE_CHART = "waardhaven-pipeline"


def environment_values_file(chart: str, env: str) -> Path:
    """charts/<chart>/values-<env>.yaml: the environment's overrides of the chart defaults (optional)."""
    return CHARTS_DIR / chart / f"values-{env}.yaml"


class PlatformStack(EnvironmentStack):
    """The project's own charts from charts/, with per-environment values (needs a live Kubernetes API)."""

    layer = "platform"

    def __init__(
        self, scope: Construct, cfg: EnvironmentConfig, operators: OperatorsStack, irsa: IrsaStack
    ) -> None:
        super().__init__(scope, cfg)
        self.add_dependency(operators)  # its custom resources need the operators' CRDs
        helm_provider(self, eks_connection(self, cfg))
        # Copied into the stack's output directory, so the synthesized JSON holds no absolute path.
        chart = TerraformAsset(
            self, "pipeline_chart", path=str(CHARTS_DIR / PIPELINE_CHART), type=AssetType.DIRECTORY
        )
        generated = {
            "environment": cfg.name,
            "region": cfg.region,
            "storageClass": GP3_STORAGE_CLASS,
            "lake": {
                layout.suffix: lake_layout.bucket_name(cfg.name, layout) for layout in lake_layout.BUCKETS
            },
            "serviceAccounts": {
                "flink": {"name": identities.FLINK_SERVICE_ACCOUNT, "roleArn": irsa.flink.arn},
                "spark": {"name": identities.SPARK_SERVICE_ACCOUNT, "roleArn": irsa.spark.arn},
                "connectors": {"name": identities.CONNECTORS_SERVICE_ACCOUNT, "roleArn": irsa.connectors.arn},
            },
        }
        values = [yaml.safe_dump(generated, sort_keys=True)]
        overrides = environment_values_file(PIPELINE_CHART, cfg.name)
        if overrides.is_file():
            values.insert(0, overrides.read_text(encoding="utf-8"))
        self.pipeline = Release(
            self,
            "pipeline",
            name=PIPELINE_CHART,
            chart=chart.path,
            namespace=identities.DATA_NAMESPACE,
            create_namespace=True,
            atomic=True,
            wait=True,
            timeout=600,
            values=values,
        )
