"""A non-local environment's S3 backend + DynamoDB lock, on the emulator: `wh deploy dev` exactly as in
production (the synthesized `dev` stacks, S3 backend included, unchanged), with the AWS SDK's standard
AWS_ENDPOINT_URL* variables pointing OpenTofu's S3 backend, the AWS provider and boto3 at moto, which acts
as dev's account. Covers the state stack's bootstrap into its own bucket, two concurrent plans on one
lock, and the stale lock a SIGKILLed apply leaves (reported, released as the report says, converged)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap.common import REPO
from infra.config import EnvironmentConfig, load_environment
from infra.constructs.state_backend import lock_table_name, state_bucket_name
from infra.emulator.aws import AwsEmulator
from infra.process import pid_alive
from infra.tofu.runner import Tofu, TofuError, tofu_binary
from infra.workflows.state_bootstrap import LOCAL_STATE, OVERRIDE_FILE

pytestmark = pytest.mark.timeout(1800)
WH_TIMEOUT = 900.0


@dataclass
class DevOnEmulator:
    cfg: EnvironmentConfig
    aws: AwsEmulator
    outdir: Path
    env: dict[str, str]

    def wh(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args), env=self.env, capture_output=True, text=True, timeout=WH_TIMEOUT, cwd=REPO
        )

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "app.cli", *args, "--outdir", str(self.outdir)]

    def workdir(self, layer: str) -> Path:
        return self.outdir / "stacks" / f"dev-{layer}"

    def lock_holder(self, layer: str) -> dict[str, Any] | None:
        """The lock item OpenTofu wrote for the stack's state (ID, Who, Operation, Created), or None."""
        lock_id = f"{state_bucket_name(self.cfg)}/dev-{layer}/terraform.tfstate"
        item = self.aws.client("dynamodb").get_item(
            TableName=lock_table_name(self.cfg), Key={"LockID": {"S": lock_id}}
        )
        info = item.get("Item", {}).get("Info")
        return json.loads(info["S"]) if info else None


@pytest.fixture(scope="module")
def dev(tofu_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevOnEmulator]:
    cfg = load_environment("dev")
    assert cfg.emulator is None, "dev must keep the production shape: S3 backend, real provider block"
    with AwsEmulator(account_id=cfg.account_id) as aws:
        endpoints = {
            f"AWS_ENDPOINT_URL{suffix}": aws.endpoint for suffix in ("", "_S3", "_DYNAMODB", "_STS", "_IAM")
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
        env |= {
            **endpoints,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": cfg.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONPATH": str(REPO),
        }
        yield DevOnEmulator(cfg, aws, tmp_path_factory.mktemp("dev") / "cdktf.out", env)


@pytest.fixture(scope="module")
def bootstrapped(dev: DevOnEmulator) -> subprocess.CompletedProcess:
    """The first deploy of dev's state stack (and kms, whose state then goes into the new bucket)."""
    assert not dev.aws.client("s3").list_buckets()["Buckets"]
    return dev.wh("deploy", "dev", "--stacks", "state", "kms")


def test_first_deploy_applies_the_state_stack_locally_then_migrates_into_its_bucket(dev, bootstrapped):
    bucket = state_bucket_name(dev.cfg)
    assert bootstrapped.returncode == 0, bootstrapped.stderr
    assert f"dev-state: its state bucket {bucket} does not exist yet" in bootstrapped.stderr
    assert f"dev-state: state migrated into s3://{bucket}" in bootstrapped.stderr
    s3 = dev.aws.client("s3")
    for layer, resource in (("state", "aws_dynamodb_table"), ("kms", "aws_kms_key")):
        body = s3.get_object(Bucket=bucket, Key=f"dev-{layer}/terraform.tfstate")["Body"].read()
        assert resource in {r["type"] for r in json.loads(body)["resources"]}, layer
    leftovers = [p for p in (LOCAL_STATE, OVERRIDE_FILE) if (dev.workdir("state") / p).exists()]
    assert not leftovers, f"the bootstrap left {leftovers} in the state stack's directory"

    again = dev.wh("deploy", "dev", "--stacks", "state", "kms")
    assert again.returncode == 0, again.stderr
    assert "does not exist yet" not in again.stderr
    assert "deploy dev: 0 of 2 stacks changed" in again.stderr


def test_a_second_concurrent_plan_fails_on_the_lock_naming_its_holder(dev, bootstrapped, tmp_path):
    assert bootstrapped.returncode == 0, bootstrapped.stderr
    tofu = Tofu(dev.workdir("kms"), "dev-kms", env=dev.env, timeout=300)
    first = subprocess.Popen(
        [str(tofu_binary()), "plan", "-input=false", "-no-color", "-lock-timeout=0s"],
        cwd=tofu.workdir,
        env=tofu.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        holder = wait_for(lambda: dev.lock_holder("kms"), 300, "the first plan to take the lock")
        first.send_signal(signal.SIGSTOP)  # hold it there, lock held, while the second plan runs
        assert holder["Operation"] == "OperationTypePlan"
        with pytest.raises(TofuError) as refused:
            tofu.plan(tmp_path / "second.tfplan", "-lock-timeout=2s")
        assert refused.value.lock is not None, refused.value
        assert refused.value.lock.id == holder["ID"]
        assert f"lock {holder['ID']}, held by {holder['Who']} (OperationTypePlan)" in str(refused.value)
        first.send_signal(signal.SIGCONT)
        output = first.communicate(timeout=300)[0]
        assert first.returncode == 0, output
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait(timeout=60)
    assert dev.lock_holder("kms") is None
    assert tofu.plan(tmp_path / "second.tfplan") is False  # the lock is free again, nothing to change


def test_a_sigkilled_apply_leaves_a_stale_lock_that_the_next_deploy_explains(dev, bootstrapped):
    assert bootstrapped.returncode == 0, bootstrapped.stderr
    deploy = subprocess.Popen(
        dev.command("deploy", "dev", "--stacks", "data-lake"),
        env=dev.env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def applying() -> tuple[int, dict] | None:
            apply = [pid for pid in children(deploy.pid) if "apply" in cmdline(pid)]
            holder = dev.lock_holder("data-lake")
            if apply and holder and holder["Operation"] == "OperationTypeApply":
                return apply[0], holder
            assert deploy.poll() is None, f"deploy ended (exit {deploy.returncode}) before its kill"
            return None

        tofu_pid, holder = wait_for(applying, WH_TIMEOUT, "the deploy's `tofu apply` to hold the lock")
        providers = children(tofu_pid)
        os.kill(tofu_pid, signal.SIGKILL)
        killed = deploy.communicate(timeout=120)[1]
    finally:
        if deploy.poll() is None:
            deploy.kill()
            deploy.wait(timeout=60)
    for pid in providers:  # the killed apply's provider plugins: ours to end
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert deploy.returncode == 1, killed
    assert "(exit -9)" in killed and "OpenTofu was killed (signal 9)" in killed, killed

    stale = dev.wh("deploy", "dev", "--stacks", "data-lake")
    assert stale.returncode == 1, stale.stderr
    workdir = dev.workdir("data-lake").resolve()
    unlock = f"cd {workdir} && {tofu_binary()} force-unlock {holder['ID']}"
    for expected in (
        f"dev-data-lake: the state is locked by another run: lock {holder['ID']}",
        # OpenTofu prints the time the lock item records (RFC 3339) in Go's format: "2006-01-02 15:04:05".
        f"held by {holder['Who']} (OperationTypeApply) since {holder['Created'][:19].replace('T', ' ')}",
        unlock,
        "safe only when no other run holds the lock",
    ):
        assert expected in stale.stderr, f"{expected!r} not in:\n{stale.stderr}"

    # Release it as the report says (OpenTofu asks to confirm), then deploy: it converges.
    released = subprocess.run(
        ["bash", "-c", unlock], input="yes\n", env=dev.env, capture_output=True, text=True, timeout=120
    )
    assert released.returncode == 0, released.stdout + released.stderr
    assert dev.lock_holder("data-lake") is None
    second = dev.wh("deploy", "dev", "--stacks", "data-lake")
    assert second.returncode == 0, second.stderr
    third = dev.wh("deploy", "dev", "--stacks", "data-lake")
    assert third.returncode == 0, third.stderr
    assert "dev-data-lake: no changes (0 to add, 0 to change, 0 to destroy)" in third.stderr


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling interval of a bounded wait on another process
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
