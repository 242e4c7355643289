from __future__ import annotations

from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.helm_release import ChartRelease
from infra.constructs.providers import eks_connection, helm_provider, kubernetes_provider
from infra.constructs.storage_class import GP3_STORAGE_CLASS, Gp3StorageClass

from .eks import EksStack
from .irsa import AUTOSCALER_SERVICE_ACCOUNT, IrsaStack

# release -> releases it needs first. A chart installs its own CRDs before its templates; these edges cover
# what a chart uses from another one (the Flink operator's webhook certificate comes from cert-manager).
NEEDS: dict[str, tuple[str, ...]] = {
    "cert_manager": (),
    "kube_prometheus_stack": (),
    "strimzi": (),
    "flink_operator": ("cert_manager",),
    "spark_operator": (),
    "cluster_autoscaler": (),
    "keda": (),
    "external_secrets": (),
    "cloudnative_pg": (),
}


class OperatorsStack(EnvironmentStack):
    """The gp3 StorageClass and the operators' Helm releases in dependency order (needs a Kubernetes API)."""

    layer = "operators"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig, eks: EksStack, irsa: IrsaStack) -> None:
        super().__init__(scope, cfg)
        self.add_dependency(eks)  # the providers look the cluster up by name
        connection = eks_connection(self, cfg)
        kubernetes_provider(self, connection)
        helm_provider(self, connection)
        storage = Gp3StorageClass(self, "storage_class", cfg)
        values = {
            "cert_manager": {"crds": {"enabled": True}},
            "kube_prometheus_stack": {
                "prometheus": {
                    "prometheusSpec": {
                        "retention": "15d",
                        "storageSpec": {
                            "volumeClaimTemplate": {
                                "spec": {
                                    "storageClassName": GP3_STORAGE_CLASS,
                                    "resources": {"requests": {"storage": "100Gi"}},
                                }
                            }
                        },
                    }
                },
            },
            "strimzi": {"watchAnyNamespace": True},
            "flink_operator": {"webhook": {"create": True}},
            "spark_operator": {"webhook": {"enable": True}},
            "cluster_autoscaler": {
                "awsRegion": cfg.region,
                "autoDiscovery": {"clusterName": cfg.cluster_name},
                "rbac": {
                    "serviceAccount": {
                        "name": AUTOSCALER_SERVICE_ACCOUNT,
                        "annotations": {"eks.amazonaws.com/role-arn": irsa.cluster_autoscaler.arn},
                    }
                },
            },
            "keda": {},
            "external_secrets": {"installCRDs": True},
            "cloudnative_pg": {"crds": {"create": True}},
        }
        extra_needs = {"kube_prometheus_stack": [storage.storage_class]}  # its volumes use the gp3 class
        self.releases: dict[str, ChartRelease] = {}
        for name, needs in NEEDS.items():
            self.releases[name] = ChartRelease(
                self,
                name,
                getattr(cfg.operators, name),
                values=values[name],
                depends_on=[self.releases[need].release for need in needs] + extra_needs.get(name, [])
                or None,
            )
