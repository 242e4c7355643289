"""A pinned Helm release of a chart from the environment config, its values rendered as YAML."""

from __future__ import annotations

import yaml
from cdktf import ITerraformDependable
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

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
