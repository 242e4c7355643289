"""A SIGKILLed `tofu apply` on an S3 backend + DynamoDB lock (moto): the stale lock it leaves is reported by
the next deploy, released with the command the report gives, and the deploy after that converges.

The stack is hand-written and uses no provider (OpenTofu's built-in terraform_data), so this runs without
the AWS provider build; its apply blocks on a FIFO, which keeps the apply in progress until it is killed.
test_state_backend.py does the same on the synthesized `dev` stacks with the AWS provider."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from infra.config import load_environment
from infra.emulator.aws import AwsEmulator
from infra.tofu.runner import TofuError, tofu_binary
from infra.workflows.deploy import deploy_stack
from infra.workflows.stackset import AwsTarget, Stack

from .processes import lock_holder, tofu_holding_lock, wait_for

BUCKET, TABLE, KEY = "wh-test-tfstate", "wh-test-tfstate-lock", "dev-lockdemo/terraform.tfstate"


def config(fifo: Path | None) -> dict:
    backend = {"bucket": BUCKET, "key": KEY, "region": "us-east-1", "dynamodb_table": TABLE}
    data = {"input": "a"}
    if fifo:
        data["provisioner"] = [{"local-exec": {"command": f"cat {fifo}"}}]
    return {"terraform": {"backend": {"s3": backend}}, "resource": {"terraform_data": {"x": data}}}


def test_a_killed_apply_is_reported_with_its_lock_then_released_and_converges(tmp_path, monkeypatch):
    tofu_binary()
    fifo = tmp_path / "apply-waits-here"
    os.mkfifo(fifo)
    stack = Stack("dev-lockdemo", "lockdemo", tmp_path / "stack", False, frozenset())
    stack.workdir.mkdir()
    stack.config.write_text(json.dumps(config(fifo)))
    with AwsEmulator() as aws:
        for name, value in {
            **{f"AWS_ENDPOINT_URL{s}": aws.endpoint for s in ("", "_S3", "_DYNAMODB", "_STS")},
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        aws.client("s3").create_bucket(Bucket=BUCKET)
        aws.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        )
        target = AwsTarget(load_environment("dev"), None)

        def holder() -> dict | None:
            return lock_holder(aws.client("dynamodb"), TABLE, f"{BUCKET}/{KEY}")

        failures: list[BaseException] = []

        def first_deploy() -> None:
            try:
                deploy_stack(stack, target)
            except BaseException as exc:  # handed to the test's thread
                failures.append(exc)

        deploying = threading.Thread(target=first_deploy)
        deploying.start()
        try:
            applying = wait_for(
                lambda: tofu_holding_lock(deploying, "apply", holder, failures),
                300,
                "the apply to hold the lock",
            )
            os.kill(applying, signal.SIGKILL)
            deploying.join(timeout=120)
        finally:
            try:  # the killed apply's provisioner (`cat`), if it started, reads EOF and ends
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: no reader
                pass
        assert not deploying.is_alive()
        assert isinstance(failures[0], TofuError) and "OpenTofu was killed (signal 9)" in str(failures[0])
        lock = holder()
        assert lock is not None, "a SIGKILLed apply leaves its lock held"

        stack.config.write_text(json.dumps(config(None)))
        with pytest.raises(TofuError) as stale:
            deploy_stack(stack, target)
        report = str(stale.value)
        unlock = f"cd {stack.workdir} && {tofu_binary()} force-unlock {lock['ID']}"
        assert stale.value.lock is not None and stale.value.lock.id == lock["ID"]
        created = lock["Created"][:19].replace("T", " ")  # RFC 3339 in the item, Go's format in OpenTofu
        assert f"lock {lock['ID']}, held by {lock['Who']} (OperationTypeApply) since {created}" in report
        assert unlock in report and "safe only when no other run holds the lock" in report

        released = subprocess.run(
            ["bash", "-c", unlock], input="yes\n", capture_output=True, text=True, timeout=120
        )
        assert released.returncode == 0, released.stdout + released.stderr
        assert holder() is None
        assert deploy_stack(stack, target).applied
        assert not deploy_stack(stack, target).applied  # the third plan: no changes
