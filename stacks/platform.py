from __future__ import annotations

from pathlib import Path

import yaml
from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from app import kafka_access, kafka_client, services
from app.batch import session as batch_session
from app.catalog import strimzi
from app.flink import jobs as flink_jobs
from app.sinks import lake_layout
from infra import database, identities, images, vendor_secrets
from infra.config import EnvironmentConfig
from infra.config.policy import DATA_PROCESSING_GROUP
from infra.constructs.eks_cluster import dedicated_placement
from infra.constructs.environment_stack import EnvironmentStack
from infra.constructs.providers import eks_connection, helm_provider
from infra.constructs.storage_class import GP3_STORAGE_CLASS

from .irsa import IrsaStack
from .operators import OperatorsStack
from .secrets import SecretsStack

CHARTS_DIR = Path(__file__).resolve().parents[1] / "charts"
PIPELINE_CHART = "waardhaven-pipeline"
FLINK_JOBS_CHART = "flink-jobs"
KAFKA_CHART = "waardhaven-kafka"
MONITORING_CHART = "waardhaven-monitoring"
BATCH_CHART = "waardhaven-batch"
DATABASE_CHART = "waardhaven-database"
SERVICES_CHART = "waardhaven-services"
# Where the Strimzi Secrets are mounted in a client's pod: app.kafka_client reads them there.
KAFKA_CA_DIR = f"{kafka_client.CREDENTIALS_DIR}/{kafka_client.CA_DIR}"
KAFKA_USER_DIR = f"{kafka_client.CREDENTIALS_DIR}/{kafka_client.USER_DIR}"
# The KEDA chart's operator pods (the sinks' lag scaler connects to Kafka from there).
KEDA_OPERATOR_LABELS = {"app.kubernetes.io/name": "keda-operator"}
# Where a database client's pod mounts the cluster's CA (infra.database.dsn verifies the server with it).
DATABASE_CA_DIR = "/etc/waardhaven/database"


def environment_values_file(chart: str, env: str) -> Path:
    """charts/<chart>/values-<env>.yaml: the environment's overrides of the chart defaults (optional)."""
    return CHARTS_DIR / chart / f"values-{env}.yaml"


class PlatformStack(EnvironmentStack):
    """The project's own charts from charts/, with per-environment values (needs a live Kubernetes API)."""

    layer = "platform"

    def __init__(
        self,
        scope: Construct,
        cfg: EnvironmentConfig,
        operators: OperatorsStack,
        irsa: IrsaStack,
        secrets: SecretsStack,
    ) -> None:
        super().__init__(scope, cfg)
        self.add_dependency(operators)  # its custom resources need the operators' CRDs
        self.add_dependency(secrets)  # the ExternalSecrets read them
        # Its namespace comes from the operators stack. Not live_objects: the helm provider's manifest
        # experiment fails a first install as inconsistent (its plan lacks the labels Helm adds).
        helm_provider(self, eks_connection(self, cfg))
        flink_chart = flink_chart_values()
        pipeline_values = {
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
                "sinks": {"name": identities.SINKS_SERVICE_ACCOUNT, "roleArn": irsa.sinks.arn},
                "secrets": {"name": identities.SECRETS_SERVICE_ACCOUNT, "roleArn": irsa.secrets.arn},
            },
            "probe": probe_values(),
            "networkPolicy": {
                "kafka": {
                    "cluster": kafka_client.CLUSTER,
                    "clientLabel": kafka_client.CLIENT_POD_LABEL,
                    "tlsPort": kafka_client.TLS_LISTENER["port"],
                },
                "flink": {"operatorNamespace": cfg.operators.flink_operator.namespace},
                "database": {
                    "cluster": database.CLUSTER,
                    "clientLabel": database.CLIENT_POD_LABEL,
                    "instanceLabel": database.INSTANCE_LABEL,
                    "port": database.PORT,
                    "operatorNamespace": cfg.operators.cloudnative_pg.namespace,
                    "statusPort": database.STATUS_PORT,
                },
                "monitoringNamespace": cfg.operators.kube_prometheus_stack.namespace,
                "metricsPorts": sorted(
                    [
                        flink_chart["metricsPort"],
                        kafka_client.METRICS_PORT,
                        database.METRICS_PORT,
                        services.METRICS_PORT,
                    ]
                ),
            },
        }
        self.pipeline = self._chart_release(cfg, PIPELINE_CHART, pipeline_values, depends_on=None)
        # The environment's components (infra.config refuses one without those it needs).
        enabled = set(cfg.components)
        if "kafka" in enabled:
            self.kafka = self._chart_release(cfg, KAFKA_CHART, kafka_values(cfg), depends_on=[self.pipeline])
        if "flink_jobs" in enabled:
            # Its pods run as the service account the pipeline chart creates, with their KafkaUser's Secret.
            self._chart_release(
                cfg, FLINK_JOBS_CHART, flink_jobs_values(cfg), depends_on=[self.pipeline, self.kafka]
            )
        if "database" in enabled:
            self.database = self._chart_release(
                cfg, DATABASE_CHART, database_values(cfg, irsa), depends_on=[self.pipeline]
            )
        if "services" in enabled:
            self._chart_release(
                cfg,
                SERVICES_CHART,
                services_values(cfg),
                depends_on=[self.pipeline, self.kafka, self.database],
            )
        if "batch" in enabled:
            self._chart_release(
                cfg, BATCH_CHART, batch_values(cfg), depends_on=[self.pipeline, self.database]
            )
        if "monitoring" in enabled:
            self._monitoring_release(cfg)

    def _monitoring_release(self, cfg: EnvironmentConfig) -> Release:
        """charts/waardhaven-monitoring (rules, dashboards, the Flink PodMonitor) in kube-prometheus-stack's
        namespace, where its Grafana sidecar looks for dashboards, labelled for its selectors."""
        stack = cfg.operators.kube_prometheus_stack
        flink_jobs = flink_chart_values()
        values = {
            "prometheusRelease": stack.chart,  # the operators stack names the release after its chart
            "environment": cfg.name,  # its latency thresholds (app/monitoring/latency.py)
            "pipelineNamespace": identities.DATA_NAMESPACE,
            "flinkJobs": sorted(flink_jobs["jobs"]),
            "flinkMetricsPort": flink_jobs["metricsPort"],
            "probe": probe_values(),
        }
        asset = TerraformAsset(
            self,
            f"{MONITORING_CHART}_chart",
            path=str(CHARTS_DIR / MONITORING_CHART),
            type=AssetType.DIRECTORY,
        )
        return Release(
            self,
            MONITORING_CHART,
            name=MONITORING_CHART,
            chart=asset.path,
            namespace=stack.namespace,
            atomic=_waits(cfg),
            wait=_waits(cfg),
            timeout=600,
            values=[yaml.safe_dump(values, sort_keys=True)],
        )

    def _chart_release(self, cfg: EnvironmentConfig, chart: str, generated: dict, depends_on) -> Release:
        """charts/<chart> (copied into the stack's output, so no absolute path) with values-<env>.yaml and
        the values this stack generates on top."""
        asset = TerraformAsset(self, f"{chart}_chart", path=str(CHARTS_DIR / chart), type=AssetType.DIRECTORY)
        values = [yaml.safe_dump(generated, sort_keys=True)]
        overrides = environment_values_file(chart, cfg.name)
        if overrides.is_file():
            values.insert(0, overrides.read_text(encoding="utf-8"))
        return Release(
            self,
            chart,
            name=chart,
            chart=asset.path,
            namespace=identities.DATA_NAMESPACE,
            atomic=_waits(cfg),
            wait=_waits(cfg),
            # Nor would a hook's Job ever complete there (the database's migrations), holding the release.
            disable_webhooks=not _waits(cfg),
            timeout=600,
            values=values,
            depends_on=depends_on,
        )


def flink_jobs_values(cfg: EnvironmentConfig) -> dict:
    """charts/flink-jobs' values: state under the environment's flink-state bucket, each job on Kafka's TLS
    listener as its KafkaUser."""
    flink_state = f"s3://{lake_layout.bucket_name(cfg.name, lake_layout.FLINK_STATE)}"
    return {
        "serviceAccount": identities.FLINK_SERVICE_ACCOUNT,
        "placement": dedicated_placement(DATA_PROCESSING_GROUP),
        "probe": probe_values(),
        "kafka": kafka_client_values("tls"),
        "jobs": {job: {"kafkaUser": kafka_access.flink_user(job)} for job in flink_jobs.JOBS},
        "storage": {
            "checkpoints": f"{flink_state}/{lake_layout.FLINK_CHECKPOINTS}",
            "savepoints": f"{flink_state}/{lake_layout.FLINK_SAVEPOINTS}",
            "ha": f"{flink_state}/{lake_layout.FLINK_HA}",
        },
    }


def probe_values() -> dict:
    """The image and user of the charts' `helm test` pods (app.probe)."""
    return {"image": images.PYTHON_SERVICES, "runAsUser": images.PYTHON_SERVICES_UID}


def batch_values(cfg: EnvironmentConfig) -> dict:
    """charts/waardhaven-batch's values: the daily batch's image and Spark version, its sparkConf (the
    `cluster` profile of app/batch/spark.yaml), the data-processing nodes, and the database."""
    return {
        "environment": cfg.name,
        "region": cfg.region,
        "name": batch_session.APP_NAME,
        "image": images.SPARK_BATCH,
        "runAsUser": images.SPARK_BATCH_UID,
        "serviceAccount": identities.SPARK_SERVICE_ACCOUNT,
        "sparkVersion": batch_session.SPARK_VERSION,
        "mainApplicationFile": images.SPARK_BATCH_MAIN,
        "placement": dedicated_placement(DATA_PROCESSING_GROUP),
        "sparkConf": batch_session.settings("cluster"),
        "database": {"clientLabel": database.CLIENT_POD_LABEL, **database_client_values()},
        "probe": probe_values(),
    }


def database_client_values() -> dict:
    """How a pod reaches the database: the DSN (TLS, verified against the CA mounted at caDir) and the
    Secrets of the application user and of the CA, both CloudNativePG's."""
    return {
        "dsn": database.dsn(identities.DATA_NAMESPACE, f"{DATABASE_CA_DIR}/ca.crt"),
        "appSecret": database.APP_SECRET,
        "caSecret": database.CA_SECRET,
        "caDir": DATABASE_CA_DIR,
    }


def database_values(cfg: EnvironmentConfig, irsa: IrsaStack) -> dict:
    """charts/waardhaven-database's values: the cluster's names, its backups under the environment's backup
    prefix with the database's IRSA role, and the image the migrations Job runs."""
    bucket = lake_layout.bucket_name(cfg.name, database.BACKUP_BUCKET)
    return {
        "cluster": database.CLUSTER,
        "database": database.DATABASE,
        "clientLabel": database.CLIENT_POD_LABEL,
        "storageClass": GP3_STORAGE_CLASS,
        "client": database_client_values(),
        "credentials": {
            "serviceAccount": identities.SECRETS_SERVICE_ACCOUNT,
            "region": cfg.region,
            "remoteKey": database.credentials_secret(cfg.name),
        },
        "backup": {
            "destination": f"s3://{bucket}/{database.BACKUP_PREFIX}",
            "roleArn": irsa.database.arn,
            "retentionDays": database.BACKUP_RETENTION_DAYS,
        },
        "migrations": {"image": images.PYTHON_SERVICES, "runAsUser": images.PYTHON_SERVICES_UID},
    }


def services_values(cfg: EnvironmentConfig) -> dict:
    """charts/waardhaven-services' values: the services of app/services.py, each on Kafka's TLS listener as
    its KafkaUser, the sinks on the database, the connectors' keys through the vendor secrets' store."""
    return {
        "environment": cfg.name,
        "region": cfg.region,
        "storageClass": GP3_STORAGE_CLASS,
        "image": images.PYTHON_SERVICES,
        "runAsUser": images.PYTHON_SERVICES_UID,
        "metricsPort": services.METRICS_PORT,
        "kafka": kafka_client_values("tls"),
        "database": {"clientLabel": database.CLIENT_POD_LABEL, **database_client_values()},
        "secretStore": {
            "serviceAccount": identities.SECRETS_SERVICE_ACCOUNT,
            "secrets": {
                variable: vendor_secrets.secret_name(cfg.name, variable)
                for variable in services.vendor_credentials()
            },
        },
        "connectors": {
            "serviceAccount": identities.CONNECTORS_SERVICE_ACCOUNT,
            "stateDir": services.STATE_DIR,
            "deployments": {
                c.name: {"sources": list(c.sources), "credentials": list(c.credentials)}
                for c in services.connectors()
            },
        },
        "sinks": {
            "serviceAccount": identities.SINKS_SERVICE_ACCOUNT,
            "deployments": {
                sink.name: {"topic": sink.topic, "maxReplicas": sink.partitions} for sink in services.sinks()
            },
        },
    }


def flink_chart_values() -> dict:
    """charts/flink-jobs/values.yaml: its jobs and their metrics port."""
    return yaml.safe_load((CHARTS_DIR / FLINK_JOBS_CHART / "values.yaml").read_text(encoding="utf-8"))


def kafka_values(cfg: EnvironmentConfig) -> dict:
    """charts/waardhaven-kafka's values: the environment's cluster, the catalog's topics scaled to its
    brokers, and a user per workload with its ACLs."""
    kafka, brokers = cfg.kafka, cfg.kafka.brokers.replicas
    topics = strimzi.kafka_topics(brokers=brokers, namespace=identities.DATA_NAMESPACE)
    users = kafka_access.kafka_users(cfg.name, identities.DATA_NAMESPACE)
    return {
        "cluster": kafka_client.CLUSTER,
        "version": kafka.version,
        "config": strimzi.broker_config(brokers),
        "storageClass": GP3_STORAGE_CLASS,
        "deleteClaim": not cfg.features.deletion_protection,
        "controllers": _pool(kafka.controllers),
        "brokers": _pool(kafka.brokers),
        "listeners": {
            "tls": kafka_client.TLS_LISTENER["port"],
            "external": kafka_client.EXTERNAL_LISTENER["port"],
        },
        "externalListener": kafka.external_listener,
        "clientLabel": kafka_client.CLIENT_POD_LABEL,
        "lagScaler": {"namespace": cfg.operators.keda.namespace, "podLabels": KEDA_OPERATOR_LABELS},
        "topics": {
            t["metadata"]["name"]: {
                "pipeline": t["metadata"]["labels"]["waardhaven.io/pipeline"],
                **t["spec"],
            }
            for t in topics
        },
        "users": {u["metadata"]["name"]: {"acls": u["spec"]["authorization"]["acls"]} for u in users},
        # `helm test`: the services image checks the dead-letter topics as the triage user
        "test": {
            "image": images.PYTHON_SERVICES,
            "runAsUser": images.PYTHON_SERVICES_UID,
            "kafkaUser": kafka_access.TRIAGE_USER,
            "client": kafka_client_values("tls"),
        },
    }


def _pool(pool) -> dict:
    return {"replicas": pool.replicas, "volumes": pool.volumes, "volumeGib": pool.volume_gib}


def kafka_client_values(protocol: str) -> dict:
    """How a chart's pods reach Kafka: the TLS bootstrap, the pod label the network policies admit, the
    environment app.kafka_client reads, and where the cluster CA's Secret is mounted (the KafkaUser's
    Secret, named after the user, goes to userDir)."""
    return {
        "bootstrapServers": kafka_client.tls_bootstrap(identities.DATA_NAMESPACE),
        "clientLabel": kafka_client.CLIENT_POD_LABEL,
        "environment": kafka_client.pod_environment(protocol),
        "caSecret": kafka_client.CLUSTER_CA_SECRET,
        "caDir": KAFKA_CA_DIR,
        "userDir": KAFKA_USER_DIR,
    }


def _waits(cfg: EnvironmentConfig) -> bool:
    """On the local Kubernetes API no pod ever runs: a release that waited for its workloads never ends."""
    return not cfg.local_kubernetes
