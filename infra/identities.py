"""Kubernetes identities of the pipeline's workloads: the namespace and service accounts IRSA roles trust.

The IRSA stack writes trust policies for these names and the platform chart creates the service accounts.
"""

DATA_NAMESPACE = "data-processing"
FLINK_SERVICE_ACCOUNT = "flink-service-account"  # as the brief's FlinkDeployment
SPARK_SERVICE_ACCOUNT = "spark-service-account"  # as the brief's SparkApplication
CONNECTORS_SERVICE_ACCOUNT = "connectors-service-account"
