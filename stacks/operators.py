from __future__ import annotations

from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1
from constructs import Construct

from infra import identities
from infra.bootstrap import crds
from infra.bootstrap.common import BootstrapError
from infra.config import EnvironmentConfig
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.helm_release import ChartRelease, CrdRelease
from infra.constructs.providers import eks_connection, helm_provider, kubernetes_provider
from infra.constructs.storage_class import GP3_STORAGE_CLASS, Gp3StorageClass

from .app import SynthError
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
    """The gp3 StorageClass and the operators' Helm releases in dependency order (needs a Kubernetes API).

    On the local Kubernetes API (cfg.local_kubernetes) the releases are of the operators' CRDs alone: no
    chart repository is reachable offline and no pod would run, but the platform's custom resources need
    the schemas.
    """

    layer = "operators"

    def __init__(self, scope: Construct, cfg: EnvironmentConfig, eks: EksStack, irsa: IrsaStack) -> None:
        super().__init__(scope, cfg)
        self.add_dependency(eks)  # the providers look the cluster up by name
        self.add_dependency(irsa)  # the autoscaler's role; on the local API, the layers' order alone
        connection = eks_connection(self, cfg)
        kubernetes_provider(self, connection)
        helm_provider(self, connection)
        storage = Gp3StorageClass(self, "storage_class", cfg)
        # The platform's namespace, owned here so that it exists when the platform stack plans its releases
        # (a dry run of every object) and goes when the environment is destroyed.
        self.data_namespace = NamespaceV1(
            self,
            "data_namespace",
            metadata={"name": identities.DATA_NAMESPACE, "labels": identities.DATA_NAMESPACE_LABELS},
        )
        if cfg.local_kubernetes:
            self.crd_releases = self._crd_releases(cfg)
        else:
            self.releases = self._chart_releases(cfg, irsa, storage)

    def _crd_releases(self, cfg: EnvironmentConfig) -> dict[str, CrdRelease]:
        try:
            return {
                name: CrdRelease(self, name, name, chart)
                for name, chart in cfg.operators
                if name in crds.OPERATORS and crds.has_crds(name)
            }
        except BootstrapError as exc:
            raise SynthError(f"{self.node.id}: {exc}") from None

    def _chart_releases(
        self, cfg: EnvironmentConfig, irsa: IrsaStack, storage: Gp3StorageClass
    ) -> dict[str, ChartRelease]:
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
            # Its Kafka, node and entity-operator pods meet the namespace's restricted Pod Security Standard.
            "strimzi": {
                "watchAnyNamespace": True,
                "extraEnvs": [{"name": "STRIMZI_POD_SECURITY_PROVIDER_CLASS", "value": "restricted"}],
            },
            "flink_operator": {"webhook": {"create": True}},
            # Its SparkApplications run in the data namespace as the pipeline chart's spark service account,
            # with that chart's Role (the IRSA role is on the account).
            "spark_operator": {
                "webhook": {"enable": True},
                "spark": {
                    "jobNamespaces": [identities.DATA_NAMESPACE],
                    "serviceAccount": {"create": False},
                    "rbac": {"create": False},
                },
            },
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
        releases: dict[str, ChartRelease] = {}
        for name, needs in NEEDS.items():
            releases[name] = ChartRelease(
                self,
                name,
                getattr(cfg.operators, name),
                values=values[name],
                depends_on=[releases[need].release for need in needs] + extra_needs.get(name, []) or None,
            )
        return releases
