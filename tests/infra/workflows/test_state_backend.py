"""A development-shaped environment on the emulator with the S3 backend and DynamoDB lock of a real account
(`emulator.state_backend: s3`): the state stack bootstraps its own bucket, other stacks lock their state,
a teardown stopped by a failing destroy keeps every state, and the state stack's own destroy moves its state
out of the bucket it deletes.

The synthesized `dev` stacks are the ones a real account gets, with the AWS provider; `state` and `kms` are
deployed (the rest of dev needs nothing more from its backend)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator

import pytest
import yaml

from infra.config import CONFIG_DIR
from infra.constructs.state_backend import lock_table_name, state_bucket_name
from infra.tofu.runner import TofuError
from infra.workflows.deploy import deploy_stack
from infra.workflows.plan import plan_stack
from infra.workflows.stackset import AwsTarget, Stack, aws_target, synthesize
from infra.workflows.state_bootstrap import LOCAL_STATE, OVERRIDE_FILE
from infra.workflows.teardown import teardown

from .processes import lock_holder, tofu_holding_lock, wait_for

ENV = "dev"


@pytest.fixture(scope="module")
def rehearsal(tofu_toolchain, tmp_path_factory) -> Iterator[tuple[AwsTarget, dict[str, Stack]]]:
    """dev's configuration with an emulator section, its stacks synthesized, an emulator as its account."""
    config_dir = tmp_path_factory.mktemp("config")
    for source in CONFIG_DIR.glob("*.yaml"):
        shutil.copy(source, config_dir)
    dev = yaml.safe_load((config_dir / f"{ENV}.yaml").read_text())
    dev["emulator"] = {"default_endpoint": "http://127.0.0.1:5000", "state_backend": "s3"}
    (config_dir / f"{ENV}.yaml").write_text(yaml.safe_dump(dev))
    with aws_target(ENV, None, config_dir) as target:
        stacks = synthesize(ENV, tmp_path_factory.mktemp("out"), config_dir)
        yield target, {stack.layer: stack for stack in stacks}


def state_keys(target: AwsTarget) -> set[str]:
    listed = target.client("s3").list_objects_v2(Bucket=state_bucket_name(target.cfg))
    return {o["Key"] for o in listed.get("Contents", [])}


def buckets(target: AwsTarget) -> set[str]:
    return {b["Name"] for b in target.client("s3").list_buckets()["Buckets"]}


def test_the_state_stack_bootstraps_into_its_own_bucket_then_others_use_it(rehearsal):
    target, stacks = rehearsal
    state = stacks["state"]
    assert state_bucket_name(target.cfg) not in buckets(target)

    assert deploy_stack(state, target).applied
    assert state_keys(target) == {f"{state.name}/terraform.tfstate"}
    assert not (state.workdir / LOCAL_STATE).exists() and not (state.workdir / OVERRIDE_FILE).exists()
    migrated = target.client("s3").get_object(
        Bucket=state_bucket_name(target.cfg), Key=f"{state.name}/terraform.tfstate"
    )
    resources = json.loads(migrated["Body"].read())["resources"]
    assert {"aws_s3_bucket", "aws_dynamodb_table"} <= {r["type"] for r in resources}
    assert not deploy_stack(state, target).applied, "planned again on the bucket: nothing to change"

    kms = stacks["kms"]
    assert deploy_stack(kms, target).applied
    assert state_keys(target) == {f"{state.name}/terraform.tfstate", f"{kms.name}/terraform.tfstate"}


def test_a_second_plan_names_the_first_as_holder_and_a_teardown_it_blocks_keeps_every_state(rehearsal):
    target, stacks = rehearsal
    kms = stacks["kms"]
    table = lock_table_name(target.cfg)
    lock_id = f"{state_bucket_name(target.cfg)}/{kms.name}/terraform.tfstate"

    def holder() -> dict | None:
        return lock_holder(target.client("dynamodb"), table, lock_id)

    first: list = []
    planning = threading.Thread(target=lambda: first.append(plan_stack(kms, target)))
    planning.start()
    held = None
    try:
        held = wait_for(
            lambda: tofu_holding_lock(planning, "plan", holder, first),
            300,
            "the first plan to hold the state lock",
        )
        os.kill(held, signal.SIGSTOP)  # the first plan keeps its lock while the rest of the test runs
        lock = holder()

        second = plan_stack(kms, target)
        assert second.error is not None
        assert f"lock {lock['ID']}, held by {lock['Who']} (OperationTypePlan)" in second.error

        before = state_keys(target)
        with pytest.raises(TofuError) as blocked:
            teardown([stacks["state"], kms], target)
        assert blocked.value.lock is not None and blocked.value.lock.id == lock["ID"]
        assert state_keys(target) == before, "a teardown stopped at kms must not touch the state bucket"
        assert state_bucket_name(target.cfg) in buckets(target)
    finally:
        if held is not None:
            os.kill(held, signal.SIGCONT)
        planning.join(timeout=300)
    assert not planning.is_alive()
    assert first and first[0].error is None, first
    assert holder() is None, "the first plan released its lock when it ended"


def test_teardown_moves_the_state_out_of_its_bucket_destroys_everything_and_a_deploy_bootstraps_again(
    rehearsal,
):
    target, stacks = rehearsal
    state, kms = stacks["state"], stacks["kms"]
    teardown([state, kms], target)
    assert buckets(target) == set()
    assert lock_table_name(target.cfg) not in target.client("dynamodb").list_tables()["TableNames"]
    assert not (state.workdir / LOCAL_STATE).exists() and not (state.workdir / OVERRIDE_FILE).exists()

    teardown([state, kms], target)  # again, on nothing: each stack says so

    assert deploy_stack(state, target).applied
    assert state_keys(target) == {f"{state.name}/terraform.tfstate"}
    teardown([state], target)
    assert buckets(target) == set()


def test_an_interrupted_state_destroy_resumes_from_its_local_copy(rehearsal, monkeypatch):
    """The destroy fails after the state left the bucket: the local copy is kept, and the next teardown
    finishes from it."""
    target, stacks = rehearsal
    state = stacks["state"]
    assert deploy_stack(state, target).applied

    import infra.workflows.teardown as teardown_module

    real_empty = teardown_module.empty_bucket

    def failing_empty(s3, bucket):
        raise RuntimeError(f"emptying {bucket} failed")

    monkeypatch.setattr(teardown_module, "empty_bucket", failing_empty)
    with pytest.raises(RuntimeError, match="emptying"):
        teardown([state], target)
    assert (state.workdir / LOCAL_STATE).exists(), "the state moved out of the bucket is kept locally"
    monkeypatch.setattr(teardown_module, "empty_bucket", real_empty)

    teardown([state], target)
    assert buckets(target) == set()
    assert not (state.workdir / LOCAL_STATE).exists()
