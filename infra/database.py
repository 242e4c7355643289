"""The pipeline's database: the CloudNativePG cluster's names and where its backups go.

CloudNativePG derives the rest from the cluster's name: the instances run as a service account named after
it (the IRSA role of its backups trusts that one), `<cluster>-rw` is the primary's Service and `<cluster>-ca`
the Secret of the CA that signs the server certificate. The application user's name and password live in
AWS Secrets Manager (`credentials_secret`, created with a generated password by the secrets stack); External
Secrets copies them into `<cluster>-app`, the Secret CloudNativePG creates the user from and the clients
read. The platform stack passes these to the charts; nothing else spells them.
"""

from app.sinks import lake_layout

CLUSTER = "waardhaven-timescaledb"
SERVICE_ACCOUNT = CLUSTER
PRIMARY_SERVICE = f"{CLUSTER}-rw"
APP_SECRET = f"{CLUSTER}-app"
CA_SECRET = f"{CLUSTER}-ca"
DATABASE = "waardhaven"  # its owner, the application user, has the same name
PORT = 5432
# Pods labelled so may reach the instances (and only they: the namespace's network policies).
CLIENT_POD_LABEL = "waardhaven.io/database-client"
# Base backups and WAL, by barman-cloud, under one prefix of the processed-data bucket (no tiering reaches
# them: the retention below removes them before its first transition).
BACKUP_BUCKET = lake_layout.PROCESSED
BACKUP_PREFIX = "database-backups/"
BACKUP_RETENTION_DAYS = 30

# CloudNativePG's own: the label on every instance pod (its value the cluster's name), the instance
# manager's status port (the operator calls it) and the PostgreSQL exporter's port.
INSTANCE_LABEL = "cnpg.io/cluster"
STATUS_PORT = 8000
METRICS_PORT = 9187


def dsn(namespace: str, ca_file: str) -> str:
    """libpq conninfo of the primary over TLS, verified against the cluster's CA. The user and password come
    from the environment (PGUSER, PGPASSWORD), filled from the application user's Secret."""
    host = f"{PRIMARY_SERVICE}.{namespace}.svc"
    return f"host={host} port={PORT} dbname={DATABASE} sslmode=verify-full sslrootcert={ca_file}"


def credentials_secret(env: str) -> str:
    """The Secrets Manager secret of the application user: JSON {"username", "password"}."""
    return f"waardhaven/{env}/database/{DATABASE}"
