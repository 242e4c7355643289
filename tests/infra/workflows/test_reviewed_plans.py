"""The reviewed plan is the applied plan, on moto with real OpenTofu: `plan --save-plans` keeps the plans
and their hashes; `deploy --reviewed-plans` applies exactly those, or refuses and asks for a new review
(a tampered plan file, a changed configuration, a state that moved since the review)."""

from __future__ import annotations

import uuid

import pytest

from infra.config import load_environment
from infra.workflows import reviewed
from infra.workflows.deploy import deploy, deploy_stack
from infra.workflows.plan import plan_stacks
from infra.workflows.stackset import AwsTarget, Refused, Stack


@pytest.fixture
def setup(tofu_in, write_config, bucket_config, emulator, tmp_path):
    name = f"wh-reviewed-{uuid.uuid4().hex[:8]}"

    def configure(version: str) -> None:
        write_config(bucket_config({"lake": {"bucket": f"{name}-{version}"}}))

    configure("v1")
    stack = Stack("test-stack", "data-lake", tofu_in.workdir, False)
    target = AwsTarget(load_environment("local"), emulator.endpoint, emulator.tofu_env())
    return stack, target, configure, name, tmp_path / "plans"


def buckets(emulator) -> set[str]:
    return {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}


def review_plans(stack, target, directory) -> None:
    (plan,) = plan_stacks(target.cfg.name, [stack], target, directory)
    assert plan.error is None and plan.pending


def test_the_reviewed_plan_is_applied_once_its_hashes_match(setup, emulator):
    stack, target, configure, name, directory = setup
    review_plans(stack, target, directory)
    manifest = reviewed.load(directory, "local")
    assert [(e.name, e.plan, e.pending) for e in manifest] == [("test-stack", "test-stack.tfplan", True)]
    assert manifest[0].plan_sha256 == reviewed.sha256(directory / "local" / "test-stack.tfplan")

    configure("v2")  # the code moved on after the review
    with pytest.raises(Refused, match="configuration changed since the plan review: re-run the plan review"):
        deploy([stack], target, reviewed_plans=directory)
    assert f"{name}-v1" not in buckets(emulator) and f"{name}-v2" not in buckets(emulator)

    configure("v1")
    (outcome,) = deploy([stack], target, reviewed_plans=directory)
    assert outcome.applied and f"{name}-v1" in buckets(emulator)


def test_a_plan_file_that_is_not_the_reviewed_one_is_refused(setup, emulator):
    stack, target, _, name, directory = setup
    review_plans(stack, target, directory)
    with (directory / "local" / "test-stack.tfplan").open("ab") as plan_file:
        plan_file.write(b"\0")
    with pytest.raises(Refused, match="is missing or not the plan reviewed: re-run the plan review"):
        deploy([stack], target, reviewed_plans=directory)
    assert f"{name}-v1" not in buckets(emulator)
    with pytest.raises(Refused, match="no readable reviewed plans for 'dev'.*re-run the plan review"):
        reviewed.load(directory, "dev")


def test_a_stale_reviewed_plan_asks_for_a_new_review(setup, emulator):
    stack, target, _, name, directory = setup
    review_plans(stack, target, directory)
    assert deploy_stack(stack, target).applied  # someone deployed after the review: the state moved
    with pytest.raises(Refused, match="state changed since the plan was reviewed.*re-run the plan review"):
        deploy([stack], target, reviewed_plans=directory)


def test_a_reviewed_stateful_replacement_deploys_in_a_production_tier(setup, emulator):
    stack, target, configure, name, directory = setup
    production = AwsTarget(
        target.cfg.model_copy(update={"tier": "production"}), target.endpoint, target.tofu_env
    )
    assert deploy_stack(stack, production).applied
    configure("v2")
    with pytest.raises(Refused, match="unreviewed"):
        deploy([stack], production)
    review_plans(stack, production, directory)
    (outcome,) = deploy([stack], production, reviewed_plans=directory)
    assert outcome.applied and [c.kind for c in outcome.plan.changes] == ["replace"]
    assert f"{name}-v2" in buckets(emulator) and f"{name}-v1" not in buckets(emulator)
