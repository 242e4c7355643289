"""Kubernetes identities of the pipeline's workloads: the namespace and service accounts IRSA roles trust.

The IRSA stack writes trust policies for these names and the platform chart creates the service accounts.
"""

DATA_NAMESPACE = "data-processing"
FLINK_SERVICE_ACCOUNT = "flink-service-account"  # as docs/requirements.md#infrastructure names it
SPARK_SERVICE_ACCOUNT = "spark-service-account"  # as docs/requirements.md#infrastructure names it
CONNECTORS_SERVICE_ACCOUNT = "connectors-service-account"
