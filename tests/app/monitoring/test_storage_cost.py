"""The S3 cost model and `wh cost`: a small case worked by hand, STANDARD's volume tiers, the lifecycle
rules read back from the synthesized data-lake stacks (the golden snapshots), and the command's report."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from app.monitoring import storage_cost
from app.monitoring.storage_cost import STANDARD, Prices, StandardTier, Tier
from app.sinks import lake_layout
from infra.config import load_environment
from infra.workflows import cost
from tests import REPO

FLAT = Prices(
    region="test",
    as_of="2026-01-01",
    source="by hand",
    standard_tiers=[StandardTier(price=0.023)],
    storage_classes={"STANDARD_IA": 0.0125},
)


def test_a_year_of_one_bucket_by_hand():
    # 10 GiB a day, STANDARD_IA after 30 days. In STANDARD on day t: 10 x min(30, t + 1) GiB, so over the
    # 365 days 10 x (1 + ... + 30) + 335 x 300 = 4,650 + 100,500 = 105,150 GiB-days; in STANDARD_IA from day
    # 30: 10 x (1 + ... + 335) = 562,800 GiB-days. A GB-month is 365/12 days.
    costs = storage_cost.year_cost({"b": (10.0, storage_cost.tiers([(30, "STANDARD_IA")]))}, 1, FLAT)

    by_class = {c.storage_class: c for c in costs}
    assert by_class[STANDARD].gib_months == pytest.approx(105_150 * 12 / 365)
    assert by_class[STANDARD].usd == pytest.approx(105_150 * 12 / 365 * 0.023)  # 79.51
    assert by_class["STANDARD_IA"].usd == pytest.approx(562_800 * 12 / 365 * 0.0125)  # 231.29
    # All in STANDARD: 10 x (1 + ... + 365) = 667,950 GiB-days = 21,960 GiB-months = 505.08 USD.
    baseline = storage_cost.year_cost(
        {"b": (10.0, storage_cost.all_standard(storage_cost.tiers([(30, "STANDARD_IA")])))}, 1, FLAT
    )
    assert [c.storage_class for c in baseline] == [STANDARD]
    assert baseline[0].gib_months == pytest.approx(21_960)
    assert baseline[0].usd == pytest.approx(505.08)
    assert sum(c.usd for c in costs) == pytest.approx(310.80, abs=0.005)


def test_standard_is_priced_by_the_accounts_volume_and_shared_by_the_buckets():
    tiered = Prices(
        region="test",
        as_of="2026-01-01",
        source="by hand",
        standard_tiers=[StandardTier(up_to_gib=100, price=0.023), StandardTier(price=0.022)],
        storage_classes={},
    )
    # 300 GiB for a month: 100 x 0.023 + 200 x 0.022 = 6.70 USD.
    assert tiered.standard_month(300) == pytest.approx(6.70)
    # Objects kept a day: 100 + 200 GiB stored every day, 6.70 USD a month between them, 1/3 and 2/3.
    day = [Tier(STANDARD, 0, 1)]
    costs = {
        c.bucket: c.usd for c in storage_cost.year_cost({"a": (100.0, day), "b": (200.0, day)}, 1, tiered)
    }
    assert costs == pytest.approx({"a": 6.70 * 12 / 3, "b": 6.70 * 12 * 2 / 3})


def test_tiers_follow_transitions_and_stop_at_expiration():
    assert storage_cost.tiers([(90, "GLACIER"), (30, "STANDARD_IA")], expiration_days=60) == [
        Tier(STANDARD, 0, 30),
        Tier("STANDARD_IA", 30, 60),
    ]
    assert storage_cost.stored_gib(2.0, storage_cost.tiers([(30, "STANDARD_IA")]), day=40) == {
        STANDARD: 60.0,
        "STANDARD_IA": 22.0,
    }


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_lifecycle_rules_as_synthesized_are_the_lakes_layout(env):
    stack = json.loads((REPO / "tests" / "golden" / env / f"{env}-data-lake.json").read_text())
    lifecycles = cost.synthesized_lifecycles(stack, env)

    for bucket in lake_layout.BUCKETS:
        if bucket.suffix in storage_cost.DELETED_AFTER_WRITE:
            kept = load_environment(env).data_lake.noncurrent_version_expiration_days
            assert lifecycles[bucket.suffix] == [Tier(STANDARD, 0, kept)]
        else:
            assert lifecycles[bucket.suffix] == storage_cost.layout_tiers(bucket)


def test_wh_cost_reports_each_bucket_and_class_and_the_saving(tmp_path):
    stack = tmp_path / "stacks" / "prod-data-lake" / "cdk.tf.json"
    stack.parent.mkdir(parents=True)
    stack.write_text((REPO / "tests" / "golden" / "prod" / "prod-data-lake.json").read_text())

    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "cost", "prod", "--outdir", str(tmp_path), "--years", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "us-east-1 prices of" in out and "ingest GiB/day: raw-data 320, processed-data 560" in out
    assert re.search(r"^raw-data\s+GLACIER\s+[\d,.]+", out, re.M)
    assert re.search(r"^processed-data\s+STANDARD_IA\s+[\d,.]+", out, re.M)
    ingest = load_environment("prod").data_lake.ingest_gib_per_day
    lifecycles = cost.synthesized_lifecycles(json.loads(stack.read_text()), "prod")
    year_one = storage_cost.year_cost({b: (ingest[b], lifecycles[b]) for b in ingest}, 1)
    total = sum(c.usd for c in year_one)
    first_total = re.findall(r"^total\s+([\d,.]+)\s+([\d,.]+)", out, re.M)[0]
    assert float(first_total[1].replace(",", "")) == pytest.approx(total, abs=0.01)
    assert float(first_total[0].replace(",", "")) == pytest.approx(total / 12, abs=0.01)
    assert out.count("target >= 20%") == 2
    assert out.rstrip().splitlines()[-1].startswith("storage cost down 20% a year against all STANDARD: ")


def test_wh_cost_of_an_unknown_environment_names_the_known_ones(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "cost", "qa", "--outdir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "no such environment 'qa'; known environments: dev, loadtest, local, prod, staging" in proc.stderr
