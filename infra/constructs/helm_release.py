"""A pinned Helm release of a chart from the environment config, its values rendered as YAML; or, on the
local Kubernetes API, the chart's CRDs alone."""

from __future__ import annotations

import yaml
from cdktf import AssetType, ITerraformDependable, TerraformAsset
from cdktf_cdktf_provider_helm.release import Release
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1
from constructs import Construct

from infra.bootstrap import crds
from infra.config.model import Chart


class ChartRelease(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        chart: Chart,
        *,
        values: dict,
        depends_on: list[ITerraformDependable] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.release = Release(
            self,
            "release",
            name=chart.chart,
            repository=chart.repository,
            chart=chart.chart,
            version=chart.version,
            namespace=chart.namespace,
            create_namespace=True,
            atomic=True,
            wait=True,
            timeout=900,
            values=[yaml.safe_dump(values, sort_keys=True)] if values else None,
            depends_on=depends_on,
        )


class CrdRelease(Construct):
    """An operator's CRDs alone: releases of the CRD-only charts the bootstrap packs from the registry-sourced
    CRDs (infra.bootstrap.crds), in the operator's namespace (created here, so destroy removes it too).

    For the local Kubernetes API, which reaches no chart repository and runs no pod: the API server gets the
    operators' schemas and validates every custom resource against them, and the releases wait for nothing.
    """

    def __init__(self, scope: Construct, id: str, operator: str, chart: Chart) -> None:
        super().__init__(scope, id)
        self.namespace = NamespaceV1(self, "namespace", metadata={"name": chart.namespace})
        parts = crds.chart_dirs(operator)
        self.releases = []
        for index, directory in enumerate(parts, start=1):
            suffix = "" if len(parts) == 1 else f"-{index}"
            asset = TerraformAsset(self, f"chart{suffix}", path=str(directory), type=AssetType.DIRECTORY)
            self.releases.append(
                Release(
                    self,
                    f"release{suffix}",
                    name=f"{chart.chart}-crds{suffix}",
                    chart=asset.path,
                    namespace=chart.namespace,
                    atomic=False,
                    wait=False,
                    timeout=300,
                    depends_on=[self.namespace],
                )
            )
