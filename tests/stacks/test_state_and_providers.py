"""State backend, backends of every stack, the AWS provider per environment, tags and provider versions."""

from __future__ import annotations

import json
import tarfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from infra.bootstrap.provider_versions import BUILT_VERSIONS, PROVIDER_VERSIONS
from infra.config import load_environment
from infra.constructs.providers import EMULATED_SERVICES
from stacks.app import stack_plan
from tests.stacks.synth_helpers import AWS_ENVS, ENVS, bucket_ref, ref, resource

REQUIRED_TAGS = {"environment", "owner", "cost-center", "data-classification"}


@pytest.mark.parametrize("env", AWS_ENVS)
def test_state_stack_holds_a_versioned_encrypted_private_bucket_and_a_lock_table(synthesized, env):
    cfg = load_environment(env)
    stack = synthesized.stack(f"{env}-state")
    bucket = resource(stack, "aws_s3_bucket", bucket=f"waardhaven-{env}-tfstate-{cfg.account_id}")
    bucket_id = bucket_ref(stack, bucket["bucket"])
    assert resource(stack, "aws_s3_bucket_versioning", bucket=bucket_id)["versioning_configuration"] == {
        "status": "Enabled"
    }
    (sse,) = resource(stack, "aws_s3_bucket_server_side_encryption_configuration", bucket=bucket_id)["rule"]
    assert sse["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": ref("aws_kms_key", "arn", stack),
    }
    assert (
        resource(stack, "aws_s3_bucket_public_access_block", bucket=bucket_id)["restrict_public_buckets"]
        is True
    )
    lock = resource(stack, "aws_dynamodb_table", name=f"waardhaven-{env}-tfstate-lock")
    assert lock["hash_key"] == "LockID" and lock["attribute"] == [{"name": "LockID", "type": "S"}]
    assert lock["server_side_encryption"]["enabled"] is True
    assert resource(stack, "aws_kms_alias", name=f"alias/waardhaven-{env}-state")
    protected = cfg.features.deletion_protection
    assert (bucket.get("lifecycle") == {"prevent_destroy": True}) is protected


@pytest.mark.parametrize("env", AWS_ENVS)
def test_every_stack_of_an_aws_environment_keeps_state_in_the_s3_backend(synthesized, env):
    account = load_environment(env).account_id
    for info in stack_plan(env):
        backend = synthesized.stack(info.name)["terraform"]["backend"]
        assert backend == {
            "s3": {
                "bucket": f"waardhaven-{env}-tfstate-{account}",
                "key": f"{info.name}/terraform.tfstate",
                "region": "us-east-1",
                "encrypt": True,
                "kms_key_id": f"arn:aws:kms:us-east-1:{account}:alias/waardhaven-{env}-state",
                "dynamodb_table": f"waardhaven-{env}-tfstate-lock",
                "allowed_account_ids": [account],
            }
        }


def test_local_uses_the_local_backend_beside_each_stack(synthesized):
    for info in stack_plan("local"):
        assert synthesized.stack(info.name)["terraform"]["backend"] == {
            "local": {"path": f"../{info.name}/terraform.tfstate"}
        }


def test_local_aws_provider_points_every_service_at_the_emulator_variable(synthesized):
    for info in stack_plan("local"):
        stack = synthesized.stack(info.name)
        (aws,) = stack["provider"]["aws"]
        assert aws["access_key"] == "test" and aws["secret_key"] == "test"
        assert aws["skip_credentials_validation"] is True and aws["skip_requesting_account_id"] is True
        assert aws["skip_metadata_api_check"] == "true" and aws["s3_use_path_style"] is True
        assert aws["endpoints"] == [{service: "${var.aws_endpoint}" for service in EMULATED_SERVICES}]
        assert stack["variable"]["aws_endpoint"]["default"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize("env", AWS_ENVS)
def test_aws_environments_have_no_emulator_settings_and_a_pinned_account(synthesized, env):
    for info in stack_plan(env):
        stack = synthesized.stack(info.name)
        (aws,) = stack["provider"]["aws"]
        assert not {"endpoints", "access_key", "secret_key", "s3_use_path_style"} & set(aws)
        assert aws["allowed_account_ids"] == [load_environment(env).account_id]
        assert "variable" not in stack


@pytest.mark.parametrize("env", ENVS)
def test_every_aws_resource_is_tagged_through_default_tags(synthesized, env):
    cfg = load_environment(env)
    for info in stack_plan(env):
        (aws,) = synthesized.stack(info.name)["provider"]["aws"]
        (default_tags,) = aws["default_tags"]
        assert REQUIRED_TAGS <= set(default_tags["tags"])
        assert default_tags["tags"]["cost-center"] == cfg.tags.cost_center


def _binding_provider_version(package: str) -> tuple[str, str]:
    (tgz,) = (Path(find_spec(package).submodule_search_locations[0]) / "_jsii").glob("*.jsii.tgz")
    with tarfile.open(tgz) as archive:
        meta = json.load(archive.extractfile("package/package.json"))["cdktf"]["provider"]
    return meta["name"].removeprefix("registry.terraform.io/"), meta["version"]


def test_bindings_are_those_recorded_and_every_stack_requires_the_built_providers(synthesized):
    bindings = dict(
        _binding_provider_version(f"cdktf_cdktf_provider_{name}") for name in ("aws", "kubernetes", "helm")
    )
    assert bindings == PROVIDER_VERSIONS
    for env in ENVS:
        for info in stack_plan(env):
            required = synthesized.stack(info.name)["terraform"]["required_providers"]
            for name, spec in required.items():
                assert spec["version"] == BUILT_VERSIONS[f"hashicorp/{name}"], info.name
