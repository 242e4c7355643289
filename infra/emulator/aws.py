"""The `local` environment's AWS: a moto server on loopback, stopped by its own pid.

    with AwsEmulator() as aws:
        aws.client("s3").list_buckets()
        subprocess.run(["tofu", "apply", ...], env={**os.environ, **aws.tofu_env()})

moto keeps everything in memory, so state written against one emulator is only meaningful while it runs.
`wh emulator` (infra.emulator.local) runs it, with the local Kubernetes API, for a shell session or a command.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from infra.bootstrap.common import REPO
from infra.process import ManagedProcess, ServiceError, free_port, require_free_port

READY_TIMEOUT = 60.0
_PORT_ATTEMPTS = 3
REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 and the AWS provider from looking for real ones.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test"}


def answers(endpoint: str, timeout: float = 2.0) -> bool:
    """True when something at `endpoint` answers moto's own API (its dashboard: data.json takes seconds
    once the AWS managed IAM policies are loaded)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def require_answering(endpoint: str) -> None:
    if not answers(endpoint):
        raise ServiceError(
            f"the AWS emulator at {endpoint} is not answering: start one with `bin/wh emulator` and pass "
            "its URL (--aws-endpoint or TF_VAR_aws_endpoint), or set neither and one is started for this run"
        )


def tofu_env(endpoint: str, region: str = REGION) -> dict[str, str]:
    """What OpenTofu needs to work on the emulator at `endpoint`: the stacks' provider reads
    var.aws_endpoint; an S3 backend (whose block takes no variables) reads the SDK's endpoint variables."""
    backend = {f"AWS_ENDPOINT_URL_{service}": endpoint for service in ("S3", "DYNAMODB", "STS", "IAM")}
    return {"TF_VAR_aws_endpoint": endpoint, "AWS_REGION": region, **CREDENTIALS, **backend}


def account_of(endpoint: str) -> str:
    """The account the emulator at `endpoint` acts as (moto's MOTO_ACCOUNT_ID)."""
    return client(endpoint, "sts").get_caller_identity()["Account"]


def client(endpoint: str, service: str, region: str = REGION) -> Any:
    import boto3

    keys = {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "test"}
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **keys)


class AwsEmulator:
    """moto server on 127.0.0.1:`port` (a free one by default); `endpoint` once started. `account_id`: the
    account every request acts in (moto's default is 123456789012), e.g. an emulated environment's."""

    def __init__(self, port: int | None = None, account_id: str | None = None) -> None:
        self.port = port
        self.account_id = account_id
        self.process: ManagedProcess | None = None
        self._log_dir: tempfile.TemporaryDirectory | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> AwsEmulator:
        if self.process is not None:
            raise ServiceError(f"the AWS emulator is already running at {self.endpoint}")
        if importlib.util.find_spec("moto") is None:
            raise ServiceError("moto is not installed here: run `python3 -m infra.bootstrap python`")
        if self.port:
            self.port = require_free_port(self.port, "AWS emulator")
            return self._launch()
        attempts = _PORT_ATTEMPTS
        while True:
            self.port = free_port()
            try:
                return self._launch()
            except ServiceError as exc:
                # Another process here can take a free port between the check and moto's bind.
                attempts -= 1
                if "Address already in use" not in str(exc) or not attempts:
                    raise
                self.process = None

    def _launch(self) -> AwsEmulator:
        self._log_dir = tempfile.TemporaryDirectory(prefix="wh-moto-")
        self.process = ManagedProcess(
            f"AWS emulator (moto) on {self.endpoint}",
            [sys.executable, "-m", "infra.emulator.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            Path(self._log_dir.name) / "moto.log",
            cwd=REPO,
            # The EKS stack attaches AWS managed policies; moto loads them only when asked to.
            env={
                **os.environ,
                "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
                **({"MOTO_ACCOUNT_ID": self.account_id} if self.account_id else {}),
            },
            grace=5.0,
        ).start()
        self.process.wait_ready(lambda: answers(self.endpoint, timeout=0.5), READY_TIMEOUT, interval=0.2)
        return self

    def client(self, service: str) -> Any:
        return client(self.endpoint, service)

    def tofu_env(self) -> dict[str, str]:
        """What OpenTofu needs to talk to this emulator (see `tofu_env`)."""
        return tofu_env(self.endpoint)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self._log_dir is not None:
            self._log_dir.cleanup()
            self._log_dir = None

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
