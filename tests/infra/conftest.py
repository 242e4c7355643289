"""Fixtures for the OpenTofu workflow tests: the Go-built toolchain (required, never skipped), a moto server
per test module and a local Kubernetes API per session, and a small hand-written Terraform JSON
configuration for runner-level tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import gotools
from infra.bootstrap.gotools import PROVIDERS
from infra.emulator.aws import AwsEmulator
from infra.kube.apiserver import LocalKubernetes, binary
from infra.process import ServiceError, pid_alive
from infra.tofu.runner import Tofu
from infra.tofu.toolchain import ToolchainMissing, require_providers, tofu_binary

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def tofu_toolchain() -> Path:
    """OpenTofu and the aws provider in the mirror; a missing build FAILS naming the bootstrap command."""
    try:
        binary = tofu_binary()
        require_providers({"aws"})
    except ToolchainMissing as exc:
        pytest.fail(str(exc))
    return binary


@pytest.fixture(scope="session")
def kube_toolchain(tofu_toolchain) -> None:
    """The kubernetes and helm providers and the local Kubernetes API's binaries; missing ones FAIL."""
    try:
        require_providers({"kubernetes", "helm"})
        for tool in gotools.KUBE_TOOLS:
            binary(tool)
    except (ToolchainMissing, ServiceError) as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def local_kubernetes(kube_toolchain) -> Iterator[LocalKubernetes]:
    """One local Kubernetes API for the session: tests leave it as they found it or compare to a baseline."""
    kube = LocalKubernetes().start()
    pids = kube.pids
    yield kube
    kube.stop()
    assert not any(pid_alive(pid) for pid in pids), f"local Kubernetes API pids {pids} still running"


@pytest.fixture(scope="module")
def emulator() -> Iterator[AwsEmulator]:
    aws = AwsEmulator().start()
    pid = aws.pid
    yield aws
    aws.stop()
    assert not pid_alive(pid), f"moto server pid {pid} still running after stop"


def _provider_block(services: tuple[str, ...] = ("s3", "kms", "sts")) -> dict[str, Any]:
    """The AWS provider as the `local` stacks configure it: emulator endpoint from var.aws_endpoint."""
    return {
        "region": "us-east-1",
        "access_key": "test",
        "secret_key": "test",
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "endpoints": [{service: "${var.aws_endpoint}" for service in services}],
    }


def _bucket_config(buckets: dict[str, dict[str, Any]], **extra: dict[str, Any]) -> dict[str, Any]:
    """Terraform JSON with one aws_s3_bucket per entry, requiring the built AWS provider as the stacks do."""
    config: dict[str, Any] = {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": PROVIDERS["aws"].version}}},
        "variable": {"aws_endpoint": {"type": "string"}},
        "provider": {"aws": [_provider_block()]},
        "resource": {"aws_s3_bucket": {key: {"bucket": key, **attrs} for key, attrs in buckets.items()}},
    }
    for block, content in extra.items():
        for type_, resources in content.items():
            config.setdefault(block, {}).setdefault(type_, {}).update(resources)
    return config


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(config: dict[str, Any]) -> Path:
        path = tmp_path / "stack" / "cdk.tf.json"  # the name cdktf gives it, which the workflows read
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(config, indent=2))
        return path

    return write


@pytest.fixture
def tofu_in(tofu_toolchain: Path, emulator: AwsEmulator, tmp_path: Path) -> Tofu:
    return Tofu(tmp_path / "stack", "test-stack", env=emulator.tofu_env(), timeout=300)


@pytest.fixture(scope="session")
def bucket_config() -> Callable[..., dict[str, Any]]:
    """bucket_config({"name": {attrs}}, resource={...}) -> Terraform JSON (see _bucket_config)."""
    return _bucket_config
