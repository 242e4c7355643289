"""Drift detection on a hand-written configuration on moto; why `-detailed-exitcode` is not the verdict."""

from __future__ import annotations

import uuid

import pytest

from infra.config import load_environment
from infra.workflows import drift
from infra.workflows.stackset import AwsTarget, Stack


@pytest.fixture
def bucket() -> str:
    return f"wh-drift-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def deployed(tofu_in, write_config, bucket_config, emulator, bucket):
    config = write_config(bucket_config({"probe": {"bucket": bucket, "tags": {"team": "data"}}}))
    tofu_in.init()
    plan = config.parent / "deploy.tfplan"
    tofu_in.plan(plan)
    tofu_in.apply(plan)
    stack = Stack("test-stack", "test", config.parent, False)
    return stack, AwsTarget(load_environment("local"), emulator.endpoint, emulator.tofu_env()), config


def test_no_drift_right_after_apply(deployed):
    stack, target, _ = deployed
    assert drift.detect(stack, target) == []


def test_refresh_only_exit_code_says_changes_where_nothing_drifted(
    deployed, write_config, bucket_config, tofu_in, bucket
):
    stack, target, _ = deployed
    config = bucket_config({"probe": {"bucket": bucket, "tags": {"team": "data"}}})
    config["output"] = {"bucket_arn": {"value": "${aws_s3_bucket.probe.arn}"}}
    write_config(config)
    raw = tofu_in.run("plan", "-refresh-only", "-detailed-exitcode", "-input=false", "-no-color", ok=(0, 2))
    assert raw.returncode == 2, "OpenTofu reports the new output as a change"
    assert drift.detect(stack, target) == [], "but no resource drifted"


def test_a_tag_changed_outside_is_named_down_to_the_attribute(deployed, bucket):
    stack, target, _ = deployed
    target.client("s3").put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "someone-else"}]}
    )
    found = drift.detect(stack, target)
    assert [(d.address, d.action) for d in found] == [("aws_s3_bucket.probe", "update")]
    assert set(found[0].attributes) == {"tags.team", "tags_all.team"}
    assert "`tags.team`" in drift.render("local", found)


def test_a_resource_deleted_outside_is_reported_as_deleted(deployed, bucket):
    stack, target, _ = deployed
    target.client("s3").delete_bucket(Bucket=bucket)
    assert [(d.address, d.action) for d in drift.detect(stack, target)] == [("aws_s3_bucket.probe", "delete")]


def test_changed_paths_walks_nested_blocks():
    before = {"rule": [{"expiration": [{"days": 30}], "id": "a"}], "tags": {"x": "1"}}
    after = {"rule": [{"expiration": [{"days": 7}], "id": "a"}], "tags": {"x": "1", "y": "2"}}
    assert drift.changed_paths(before, after) == ["rule[0].expiration[0].days", "tags.y"]


def test_code_not_yet_deployed_is_noted_but_is_not_drift(
    deployed, write_config, bucket_config, bucket, capsys
):
    stack, target, _ = deployed
    write_config(bucket_config({"probe": {"bucket": bucket, "tags": {"team": "platform"}}}))
    assert drift.detect(stack, target) == []
    assert "code not deployed yet: the plan also changes aws_s3_bucket.probe" in capsys.readouterr().err


def _plan(drifted: list[dict], changes: list[dict]) -> dict:
    return {"resource_drift": drifted, "resource_changes": changes}


def _change(address: str, actions: list[str], before, after, after_unknown=None) -> dict:
    change = {"actions": actions, "before": before, "after": after, "after_unknown": after_unknown or {}}
    return {"address": address, "change": change}


def test_what_the_plan_would_not_change_back_is_read_back_noise_not_drift():
    stored = {"tags": None, "lifecycle_rule": [], "tags_all": {"env": "local"}}
    read_back = {
        "tags": {"owner": "x"},
        "lifecycle_rule": [{"id": "r"}],
        "tags_all": {"env": "local", "owner": "x"},
    }
    planned = {"tags": {}, "lifecycle_rule": [{"id": "r"}], "tags_all": {"env": "local"}}
    plan = _plan(
        [
            _change("aws_s3_bucket.b", ["update"], stored, read_back),
            _change("aws_kms_key.k", ["update"], {}, {"tags": {}}),
        ],
        [
            _change("aws_s3_bucket.b", ["update"], read_back, planned),
            _change("aws_kms_key.k", ["no-op"], {"tags": {}}, {"tags": {}}),
        ],
    )
    # `tags` was null in state and the whole map reads back: the finer planned paths are named
    assert drift.drifts("s", plan) == (
        [drift.Drift("s", "aws_s3_bucket.b", "update", ("tags.owner", "tags_all.owner"))],
        [],
    )


def test_unknown_planned_values_and_replacements_are_named():
    plan = _plan(
        [
            _change(
                "aws_instance.i",
                ["update"],
                {"ami": "a", "tags_all": {}},
                {"ami": "b", "tags_all": {"x": "1"}},
            )
        ],
        [_change("aws_instance.i", ["delete", "create"], {"ami": "b"}, {"ami": "a"}, {"tags_all": True})],
    )
    assert drift.drifts("s", plan)[0] == [
        drift.Drift("s", "aws_instance.i", "replace", ("ami", "tags_all.x"))
    ]


def test_a_planned_change_without_drift_behind_it_is_code_not_deployed():
    plan = _plan([], [_change("aws_s3_bucket.new", ["create"], None, {"bucket": "n"})])
    assert drift.drifts("s", plan) == ([], ["aws_s3_bucket.new"])
