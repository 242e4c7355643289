"""Every Kafka client's security settings from the environment: plaintext by default, TLS with the mounted
Strimzi Secrets, SCRAM outside the cluster; a bad value or a missing file is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import kafka_client
from app.kafka_client import (
    CREDENTIALS_VARIABLE,
    SECURITY_VARIABLE,
    USER_VARIABLE,
    KafkaSecurityError,
    java_client_properties,
    librdkafka_settings,
)


@pytest.fixture()
def mounted(tmp_path: Path) -> Path:
    """The layout a pod gets: the cluster CA's Secret in ca/, the KafkaUser's Secret in user/."""
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    user = tmp_path / "user"
    user.mkdir()
    for name in ("user.crt", "user.key", "user.p12"):
        (user / name).write_text(name)
    (user / "user.password").write_text("p12-secret\n")
    (user / "password").write_text("scram-secret\n")
    return tmp_path


def test_without_the_variable_clients_speak_plaintext_as_the_local_broker_does():
    assert librdkafka_settings({}) == {"security.protocol": "PLAINTEXT"}
    assert java_client_properties({}) == {"security.protocol": "PLAINTEXT"}


def test_a_bad_value_names_the_variable_and_the_allowed_values():
    with pytest.raises(KafkaSecurityError) as caught:
        librdkafka_settings({SECURITY_VARIABLE: "ssl"})
    assert str(caught.value) == "WAARDHAVEN_KAFKA_SECURITY='ssl' is not one of plaintext, tls, scram"
    with pytest.raises(KafkaSecurityError, match="WAARDHAVEN_KAFKA_SECURITY='TLS'"):
        java_client_properties({SECURITY_VARIABLE: "TLS"})
    with pytest.raises(KafkaSecurityError, match="not one of plaintext, tls, scram"):
        kafka_client.pod_environment("mtls")


def test_tls_points_librdkafka_at_the_mounted_certificate_files(mounted: Path):
    environ = {SECURITY_VARIABLE: "tls", CREDENTIALS_VARIABLE: str(mounted)}
    assert librdkafka_settings(environ) == {
        "security.protocol": "SSL",
        "ssl.ca.location": str(mounted / "ca" / "ca.crt"),
        "ssl.certificate.location": str(mounted / "user" / "user.crt"),
        "ssl.key.location": str(mounted / "user" / "user.key"),
    }


def test_tls_for_java_clients_uses_the_pkcs12_store_and_its_password(mounted: Path):
    environ = {SECURITY_VARIABLE: "tls", CREDENTIALS_VARIABLE: str(mounted)}
    assert java_client_properties(environ) == {
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(mounted / "ca" / "ca.crt"),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(mounted / "user" / "user.p12"),
        "ssl.keystore.password": "p12-secret",
    }


def test_scram_takes_the_user_from_the_environment_and_the_password_from_its_secret(mounted: Path):
    environ = {SECURITY_VARIABLE: "scram", CREDENTIALS_VARIABLE: str(mounted), USER_VARIABLE: "analyst"}
    settings = librdkafka_settings(environ)
    assert settings["security.protocol"] == "SASL_SSL" and settings["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (settings["sasl.username"], settings["sasl.password"]) == ("analyst", "scram-secret")
    with pytest.raises(KafkaSecurityError, match="scram needs WAARDHAVEN_KAFKA_USER"):
        librdkafka_settings({**environ, USER_VARIABLE: ""})
    with pytest.raises(KafkaSecurityError, match="the Flink jobs use tls"):
        java_client_properties(environ)


def test_a_missing_secret_file_is_named_before_any_connection(mounted: Path):
    (mounted / "user" / "user.key").unlink()
    with pytest.raises(KafkaSecurityError) as caught:
        librdkafka_settings({SECURITY_VARIABLE: "tls", CREDENTIALS_VARIABLE: str(mounted)})
    assert str(mounted / "user" / "user.key") in str(caught.value)
    assert "WAARDHAVEN_KAFKA_CREDENTIALS" in str(caught.value)
    with pytest.raises(KafkaSecurityError, match="ca.crt"):
        librdkafka_settings({SECURITY_VARIABLE: "tls", CREDENTIALS_VARIABLE: str(mounted / "elsewhere")})


def test_the_flink_jobs_sql_carries_the_same_settings(monkeypatch, mounted: Path):
    from app.flink.scripts import security_options, statements

    monkeypatch.setenv(SECURITY_VARIABLE, "tls")
    monkeypatch.setenv(CREDENTIALS_VARIABLE, str(mounted))
    assert "'properties.ssl.keystore.location' = '" + str(mounted / "user" / "user.p12") + "'," in (
        security_options()
    )
    values = {
        "dead_letter_topic": "dl",
        "bootstrap_servers": "kafka:9093",
        "transaction_timeout_ms": 1,
        "transactional_id_prefix": "p",
    }
    ddl, _ = statements("dead_letters.sql", values)  # the shared script (and the same one again)
    assert "'properties.security.protocol' = 'SSL'," in ddl[0]
    assert "'properties.ssl.keystore.password' = 'p12-secret'," in ddl[0]
