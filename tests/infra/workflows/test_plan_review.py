"""Plan review on real plan JSON from moto: create a bucket and a KMS key, then change the bucket's name
(which forces a replacement) and render the review; the prod gate fails without the approval label."""

from __future__ import annotations

import json
import uuid

import pytest

from infra.tofu.runner import Tofu
from infra.workflows import review


@pytest.fixture(scope="module")
def replacement_plan(tofu_toolchain, emulator, bucket_config, tmp_path_factory):
    """StackPlan changes of a real plan that replaces a bucket and updates a KMS key in place: made once,
    read by each test."""
    workdir = tmp_path_factory.mktemp("review") / "stack"
    workdir.mkdir()
    name = f"wh-review-{uuid.uuid4().hex[:8]}"
    key = {"aws_kms_key": {"lake": {"description": "lake key", "enable_key_rotation": True}}}
    config = workdir / "cdk.tf.json"
    config.write_text(json.dumps(bucket_config({"lake": {"bucket": f"{name}-v1"}}, resource=key)))
    tofu = Tofu(workdir, "test-stack", env=emulator.tofu_env(), timeout=300)
    tofu.init()
    plan = workdir / "review.tfplan"
    tofu.plan(plan)
    tofu.apply(plan)

    key["aws_kms_key"]["lake"]["description"] = "lake key (renamed)"
    config.write_text(json.dumps(bucket_config({"lake": {"bucket": f"{name}-v2"}}, resource=key)))
    assert tofu.plan(plan) is True
    return review.changes(tofu.show_json(plan))


def test_changes_read_from_a_real_plan(replacement_plan):
    kinds = {c.address: c.kind for c in replacement_plan}
    assert kinds == {"aws_s3_bucket.lake": "replace", "aws_kms_key.lake": "change"}


def test_markdown_counts_per_stack_and_shouts_about_stateful_replacements(replacement_plan):
    plans = {
        "prod": [
            review.StackPlan("prod-data-lake", "data-lake", replacement_plan),
            review.StackPlan("prod-operators", "operators", skipped="needs a live Kubernetes API"),
        ],
        "dev": [review.StackPlan("dev-data-lake", "data-lake", [])],
    }
    text = review.render(plans, labels=set(), tiers={"prod": "production", "dev": "development"})
    assert text.startswith(review.MARKER)
    assert "STATEFUL RESOURCES WOULD BE DESTROYED OR REPLACED" in text
    assert "| prod | prod-data-lake | `aws_s3_bucket.lake` | **REPLACE** |" in text
    assert "`aws_kms_key.lake`" not in text.split("### prod")[0], "an in-place KMS update is not a loss"
    # add | change | destroy | replace, counted as OpenTofu counts (a replacement is an add and a destroy)
    assert "| prod-data-lake | 1 | 1 | 1 | 1 |" in text
    assert "| prod-operators | not planned: needs a live Kubernetes API |" in text
    assert "| dev-data-lake | 0 | 0 | 0 | 0 |" in text
    label = review.APPROVAL_LABEL
    assert f"**prod: this check fails** until the pull request has the `{label}` label" in text


def test_gate_follows_the_tier_not_the_name(replacement_plan):
    plans = [review.StackPlan("eu-data-lake", "data-lake", replacement_plan)]
    text = review.render({"eu": plans}, labels=set(), tiers={"eu": "production"})
    assert "**eu: this check fails** until the pull request has the" in text
    renamed = review.render({"prod": plans}, labels=set(), tiers={"prod": "development"})
    assert "this check fails" not in renamed


def test_prod_gate_needs_the_approval_label(replacement_plan):
    plans = [review.StackPlan("prod-data-lake", "data-lake", replacement_plan)]
    blocked = review.blocked("production", plans, labels={"enhancement"})
    assert [c.address for c in blocked] == ["aws_s3_bucket.lake"]
    assert review.blocked("production", plans, labels={review.APPROVAL_LABEL}) == []
    for tier in ("staging", "development", "ephemeral", "local"):
        assert review.blocked(tier, plans, labels=set()) == [], "only the production tier is gated"
    approved = review.render({"prod": plans}, labels={review.APPROVAL_LABEL}, tiers={"prod": "production"})
    assert "STATEFUL RESOURCES" in approved and "this check fails" not in approved


def test_everything_in_the_state_stack_is_stateful():
    change = review.Change("aws_s3_bucket_versioning.state", "aws_s3_bucket_versioning", ("delete",))
    assert review.StackPlan("prod-state", "state", [change]).stateful_losses() == [change]
    assert review.StackPlan("prod-network", "network", [change]).stateful_losses() == []
