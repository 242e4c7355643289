"""S3 server access logs: every bucket logs into the environment's access-log bucket in the state stack."""

from __future__ import annotations

import json

import pytest

from app.sinks import lake_layout
from infra.config import load_environment
from infra.constructs.state_backend import access_log_bucket_name, state_bucket_name
from tests.stacks.synth_helpers import ENVS, bucket_ref, resource, resources


@pytest.mark.parametrize("env", ENVS)
def test_access_log_bucket_takes_deliveries_from_s3_logging_only_for_its_account(synthesized, env):
    cfg = load_environment(env)
    stack = synthesized.stack(f"{env}-state")
    name = access_log_bucket_name(cfg)
    bucket_id = bucket_ref(stack, name)
    (sse,) = resource(stack, "aws_s3_bucket_server_side_encryption_configuration", bucket=bucket_id)["rule"]
    # S3 delivers access logs only into SSE-S3 buckets.
    assert sse["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    statements = {
        s["Sid"]: s
        for s in json.loads(resource(stack, "aws_s3_bucket_policy", bucket=bucket_id)["policy"])["Statement"]
    }
    assert set(statements) == {"DenyInsecureTransport", "S3ServerAccessLogDelivery"}
    delivery = statements["S3ServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject" and delivery["Resource"] == f"arn:aws:s3:::{name}/*"
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": cfg.account_id}}
    (rule,) = resource(stack, "aws_s3_bucket_lifecycle_configuration", bucket=bucket_id)["rule"]
    assert rule["expiration"] == [{"days": cfg.data_lake.access_log_retention_days}]
    # It does not log into itself.
    assert not [
        log for log in resources(stack, "aws_s3_bucket_logging").values() if log["bucket"] == bucket_id
    ]


@pytest.mark.parametrize("env", ENVS)
def test_state_and_lake_buckets_log_into_it_under_their_own_prefix(synthesized, env):
    cfg = load_environment(env)
    target = access_log_bucket_name(cfg)
    logged = {
        (f"{env}-state", state_bucket_name(cfg)),
        *((f"{env}-data-lake", lake_layout.bucket_name(env, layout)) for layout in lake_layout.BUCKETS),
    }
    for stack_name, bucket in logged:
        stack = synthesized.stack(stack_name)
        logging = resource(stack, "aws_s3_bucket_logging", bucket=bucket_ref(stack, bucket))
        assert logging["target_bucket"] == target and logging["target_prefix"] == f"{bucket}/"
    state = synthesized.stack(f"{env}-state")
    (state_logging,) = resources(state, "aws_s3_bucket_logging").values()
    # In the same stack, the delivery policy must exist before logging is switched on (S3 checks it).
    (policy_id,) = [
        key
        for key, policy in resources(state, "aws_s3_bucket_policy").items()
        if policy["bucket"] == bucket_ref(state, target)
    ]
    assert state_logging["depends_on"] == [f"aws_s3_bucket_policy.{policy_id}"]
