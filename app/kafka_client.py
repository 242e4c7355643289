"""The Kafka cluster's shared names and every client's security settings, chosen by the environment.

One place for what a client needs to reach the cluster besides its address: the Strimzi cluster's name
(its bootstrap Service, its CA Secret), the listeners' ports, and how a pod's credentials are mounted.
`WAARDHAVEN_KAFKA_SECURITY` picks the protocol, validated when the settings are read:

  plaintext  the local broker (the default: nothing to set on a laptop)
  tls        the cluster's TLS listener with the workload's client certificate (Strimzi KafkaUser, tls)
  scram      the external listener with SCRAM-SHA-512 (KafkaUser, scram-sha-512) over TLS

Credentials are files mounted from the Strimzi Secrets under `WAARDHAVEN_KAFKA_CREDENTIALS`
(CREDENTIALS_DIR by default): `ca/ca.crt` from `<cluster>-cluster-ca-cert`, and `user/` from the KafkaUser's
Secret (user.crt, user.key, user.p12, user.password for tls; password for scram, whose user name is
`WAARDHAVEN_KAFKA_USER`). Only paths go into a client's configuration, except the passwords (of the
PKCS#12 key store, of SCRAM), which neither client library reads from a file: they are read here.
"""

from __future__ import annotations

import os
from pathlib import Path

# The namespace the cluster and every workload of the pipeline (its clients) run in.
NAMESPACE = "data-processing"
CLUSTER = "waardhaven-kafka-cluster"
BOOTSTRAP_SERVICE = f"{CLUSTER}-kafka-bootstrap"
CLUSTER_CA_SECRET = f"{CLUSTER}-cluster-ca-cert"
TLS_LISTENER = {"name": "tls", "port": 9093}
METRICS_PORT = 9404  # where Strimzi serves the brokers' JMX exporter
EXTERNAL_LISTENER = {"name": "external", "port": 9094}

# Pods labelled so may reach the TLS listener (its NetworkPolicy peers, the namespace's egress allow).
CLIENT_POD_LABEL = "waardhaven.io/kafka-client"

SECURITY_VARIABLE = "WAARDHAVEN_KAFKA_SECURITY"
CREDENTIALS_VARIABLE = "WAARDHAVEN_KAFKA_CREDENTIALS"
USER_VARIABLE = "WAARDHAVEN_KAFKA_USER"
PROTOCOLS = ("plaintext", "tls", "scram")
CREDENTIALS_DIR = "/etc/waardhaven/kafka"
CA_DIR, USER_DIR = "ca", "user"  # under the credentials directory: the cluster CA's Secret, the user's
SCRAM_MECHANISM = "SCRAM-SHA-512"


class KafkaSecurityError(ValueError):
    """The environment asks for a protocol that does not exist, or its credentials are missing."""


def tls_bootstrap(namespace: str) -> str:
    """The TLS listener's bootstrap address inside the cluster."""
    return f"{BOOTSTRAP_SERVICE}.{namespace}.svc:{TLS_LISTENER['port']}"


def pod_environment(chosen: str) -> dict[str, str]:
    """The environment variables a pod sets for `chosen`, its credentials mounted under CREDENTIALS_DIR."""
    protocol({SECURITY_VARIABLE: chosen})
    return {SECURITY_VARIABLE: chosen, CREDENTIALS_VARIABLE: CREDENTIALS_DIR}


def protocol(environ: dict[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(SECURITY_VARIABLE, "plaintext")
    if value not in PROTOCOLS:
        raise KafkaSecurityError(f"{SECURITY_VARIABLE}={value!r} is not one of {', '.join(PROTOCOLS)}")
    return value


def _files(environ: dict[str, str]) -> tuple[Path, Path]:
    root = Path(environ.get(CREDENTIALS_VARIABLE, CREDENTIALS_DIR))
    return root / CA_DIR / "ca.crt", root / USER_DIR


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KafkaSecurityError(
            f"{path}: cannot read ({exc.strerror}); {CREDENTIALS_VARIABLE} must name the directory the "
            "Strimzi Secrets are mounted in"
        ) from None


def _scram_user(environ: dict[str, str]) -> str:
    user = environ.get(USER_VARIABLE, "")
    if not user:
        raise KafkaSecurityError(f"{SECURITY_VARIABLE}=scram needs {USER_VARIABLE}, the KafkaUser's name")
    return user


def librdkafka_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Security settings of a confluent-kafka (librdkafka) client: producers, consumers, admin clients."""
    environ = os.environ if environ is None else environ
    chosen = protocol(environ)
    if chosen == "plaintext":
        return {"security.protocol": "PLAINTEXT"}
    ca, user = _files(environ)
    _read(ca)  # fail here, naming the file, rather than in librdkafka's first handshake
    if chosen == "tls":
        for name in ("user.crt", "user.key"):
            _read(user / name)
        return {
            "security.protocol": "SSL",
            "ssl.ca.location": str(ca),
            "ssl.certificate.location": str(user / "user.crt"),
            "ssl.key.location": str(user / "user.key"),
        }
    return {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(ca),
        "sasl.mechanism": SCRAM_MECHANISM,
        "sasl.username": _scram_user(environ),
        "sasl.password": _read(user / "password"),
    }


def java_client_properties(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The same settings as Java Kafka client properties (the Flink jobs' sources and sinks). They run in
    the cluster, on the TLS listener: scram (the external listener) is refused."""
    environ = os.environ if environ is None else environ
    chosen = protocol(environ)
    if chosen == "plaintext":
        return {"security.protocol": "PLAINTEXT"}
    if chosen == "scram":
        raise KafkaSecurityError(
            f"{SECURITY_VARIABLE}=scram is for clients outside the cluster; the Flink jobs use tls"
        )
    ca, user = _files(environ)
    _read(ca)
    # PKCS#12: Java reads a PEM key store only as one file holding key and chain; Strimzi mounts them apart.
    return {
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(user / "user.p12"),
        "ssl.keystore.password": _read(user / "user.password"),
    }
