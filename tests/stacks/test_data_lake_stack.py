"""Data lake: buckets per environment, versioned, encrypted as docs/requirements.md#storage says,
private, TLS-only, tiered."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from app.sinks import lake_layout
from infra.config import load_environment
from tests.stacks.synth_helpers import ENVS, bucket_ref, resource, resources

BRIEF_TRANSITIONS = {
    "raw-data": [(30, "STANDARD_IA"), (90, "GLACIER"), (2555, "DEEP_ARCHIVE")],
    "processed-data": [(90, "STANDARD_IA"), (365, "GLACIER")],
    "ml-models": [(180, "STANDARD_IA")],
    "flink-state": [],
}


@pytest.mark.parametrize("env", ENVS)
def test_buckets_are_named_per_environment(synthesized, env):
    stack = synthesized.stack(f"{env}-data-lake")
    names = sorted(b["bucket"] for b in resources(stack, "aws_s3_bucket").values())
    assert names == [f"waardhaven-{env}-{suffix}" for suffix in sorted(BRIEF_TRANSITIONS)]


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("suffix", sorted(BRIEF_TRANSITIONS))
def test_lifecycle_is_exactly_the_briefs(synthesized, env, suffix):
    stack = synthesized.stack(f"{env}-data-lake")
    bucket = bucket_ref(stack, f"waardhaven-{env}-{suffix}")
    (rule,) = resource(stack, "aws_s3_bucket_lifecycle_configuration", bucket=bucket)["rule"]
    assert rule["status"] == "Enabled"
    assert [(t["days"], t["storage_class"]) for t in rule.get("transition", [])] == BRIEF_TRANSITIONS[suffix]
    expected_noncurrent = load_environment(env).data_lake.noncurrent_version_expiration_days
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": expected_noncurrent}]


@pytest.mark.parametrize("env", ENVS)
def test_every_bucket_is_versioned_private_and_tls_only(synthesized, env):
    stack = synthesized.stack(f"{env}-data-lake")
    for suffix in BRIEF_TRANSITIONS:
        bucket = bucket_ref(stack, f"waardhaven-{env}-{suffix}")
        versioning = resource(stack, "aws_s3_bucket_versioning", bucket=bucket)
        assert versioning["versioning_configuration"] == {"status": "Enabled"}
        block = resource(stack, "aws_s3_bucket_public_access_block", bucket=bucket)
        assert all(
            block[k] is True
            for k in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )
        policy = json.loads(resource(stack, "aws_s3_bucket_policy", bucket=bucket)["policy"])
        (deny,) = policy["Statement"]
        assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*" and deny["Principal"] == "*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("env", ENVS)
def test_raw_and_processed_use_aes256_ml_models_its_kms_key(synthesized, env):
    stack = synthesized.stack(f"{env}-data-lake")

    def encryption(suffix):
        bucket = bucket_ref(stack, f"waardhaven-{env}-{suffix}")
        (rule,) = resource(stack, "aws_s3_bucket_server_side_encryption_configuration", bucket=bucket)["rule"]
        return rule["apply_server_side_encryption_by_default"]

    assert encryption("raw-data") == {"sse_algorithm": "AES256"}
    assert encryption("processed-data") == {"sse_algorithm": "AES256"}
    ml = encryption("ml-models")
    assert ml["sse_algorithm"] == "aws:kms"
    assert f"cross-stack-reference-input-{env}-kms" in ml["kms_master_key_id"]
    assert "ml_models_key" in ml["kms_master_key_id"]


def test_prod_buckets_cannot_be_destroyed_and_dev_ones_can(synthesized):
    prod = resources(synthesized.stack("prod-data-lake"), "aws_s3_bucket").values()
    assert all(b["force_destroy"] is False and b["lifecycle"] == {"prevent_destroy": True} for b in prod)
    dev = resources(synthesized.stack("dev-data-lake"), "aws_s3_bucket").values()
    assert all(b["force_destroy"] is True and "lifecycle" not in b for b in dev)


def test_partition_layout_is_the_briefs():
    at = datetime(2024, 3, 5, 7, 30)
    assert (
        lake_layout.MARKET_DATA.key(at, "a.parquet")
        == "market-data/year=2024/month=03/day=05/hour=07/a.parquet"
    )
    assert (lake_layout.MARKET_DATA.format, lake_layout.MARKET_DATA.compression) == ("parquet", "snappy")
    assert lake_layout.NEWS.key(at, "b.json.gz") == "news/year=2024/month=03/day=05/b.json.gz"
    assert (lake_layout.NEWS.format, lake_layout.NEWS.compression) == ("json", "gzip")
    assert lake_layout.INSIDER_TRADING.key(at, "c.parquet") == "insider-trading/year=2024/month=03/c.parquet"
    assert all(d.bucket is lake_layout.RAW for d in lake_layout.RAW_DATASETS)
