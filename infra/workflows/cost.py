"""`wh cost ENV`: what the environment's data lake costs in S3 storage per month and year, per bucket and
storage class, with its lifecycle rules as synthesized and kept all in STANDARD, and the saving.

Volumes are the environment's `data_lake.ingest_gib_per_day` (infra/config/ENV.yaml); the lifecycle rules are
read from the synthesized data-lake stack in --outdir (synthesized first when it is not there); the prices
and the model are app/monitoring (s3_prices.yaml, storage_cost.py). A bucket's objects stay current, except
in flink-state, whose checkpoint files Flink deletes once superseded: they are kept for the rule's
noncurrent-version expiry. The requirement is storage cost down 20 % a year (docs/requirements.md#targets):
the saving of each year against all-STANDARD is checked against it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from app.monitoring import storage_cost
from infra.config import ConfigError, load_environment
from infra.config.arguments import add_env, add_outdir

SAVING_TARGET = 0.20
_BUCKET_REF = re.compile(r"^\$\{aws_s3_bucket\.([^.}]+)\.id\}$")


class CostError(RuntimeError):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_env(parser)
    add_outdir(parser, "where the synthesized stacks are (synthesized there if missing)")
    parser.add_argument(
        "--years", type=int, default=3, choices=range(1, 11), metavar="N", help="years 1..N (default 3)"
    )


def stack_file(outdir: Path, env: str) -> Path:
    return outdir / "stacks" / f"{env}-data-lake" / "cdk.tf.json"


def synthesized_lifecycles(stack: dict, env: str) -> dict[str, list[storage_cost.Tier]]:
    """Each lake bucket's tiers, by its layout suffix, from the lifecycle rules of a synthesized data-lake
    stack; for a storage_cost.DELETED_AFTER_WRITE bucket, its noncurrent-version expiry."""
    resources = stack.get("resource", {})
    names = {key: value["bucket"] for key, value in resources.get("aws_s3_bucket", {}).items()}
    result = {}
    for key, lifecycle in resources.get("aws_s3_bucket_lifecycle_configuration", {}).items():
        match = _BUCKET_REF.match(lifecycle["bucket"])
        if match is None or match[1] not in names:
            raise CostError(f"lifecycle {key} names no bucket of the stack ({lifecycle['bucket']})")
        suffix = names[match[1]].removeprefix(f"waardhaven-{env}-")
        enabled = [rule for rule in lifecycle["rule"] if rule["status"] == "Enabled"]
        if len(enabled) != 1 or enabled[0].get("filter", [{}])[0].get("prefix", "") != "":
            raise CostError(f"{names[match[1]]}: the model takes one enabled rule over the whole bucket")
        rule = enabled[0]
        if suffix in storage_cost.DELETED_AFTER_WRITE:
            kept = rule["noncurrent_version_expiration"][0]["noncurrent_days"]
            result[suffix] = [storage_cost.Tier(storage_cost.STANDARD, 0, kept)]
            continue
        expiration = rule.get("expiration", [{}])[0].get("days")
        transitions = [(t["days"], t["storage_class"]) for t in rule.get("transition", [])]
        result[suffix] = storage_cost.tiers(transitions, expiration)
    return result


def _load_stack(outdir: Path, env: str) -> dict:
    path = stack_file(outdir, env)
    if not path.is_file():
        from stacks.app import synth

        print(f"wh cost: {path} not found; synthesizing {env} into {outdir} ...", file=sys.stderr)
        synth([env], outdir)
    return json.loads(path.read_text(encoding="utf-8"))


def report(env: str, ingest: dict[str, float], lifecycles: dict[str, list], years: int) -> list[str]:
    prices = storage_cost.prices()
    missing = sorted(set(ingest) - set(lifecycles))
    if missing:
        raise CostError(f"the synthesized data-lake stack has no lifecycle rule for {', '.join(missing)}")
    lines = [
        f"S3 storage cost of the {env} lake: {prices.region} prices of {prices.as_of} (storage only; "
        "requests, transitions and retrievals not included)",
        "ingest GiB/day: " + ", ".join(f"{bucket} {gib:g}" for bucket, gib in ingest.items()),
        "USD/month is the year's average month; STANDARD's volume discount is shared by the buckets pro",
        "rata, so a bucket without tiers pays a little more per GB once the others move out of STANDARD",
    ]
    tiered = {bucket: (ingest[bucket], lifecycles[bucket]) for bucket in ingest}
    standard = {bucket: (gib, storage_cost.all_standard(tiers)) for bucket, (gib, tiers) in tiered.items()}
    all_met = True
    for year in range(1, years + 1):
        costs = storage_cost.year_cost(tiered, year, prices)
        baseline = storage_cost.year_cost(standard, year, prices)
        lines += [
            "",
            f"year {year}",
            f"{'bucket':<16}{'class':<14}{'GiB-months':>14}{'USD/month':>14}{'USD/year':>14}",
        ]
        for item in costs:
            lines.append(
                f"{item.bucket:<16}{item.storage_class:<14}{item.gib_months:>14,.1f}"
                f"{item.usd / 12:>14,.2f}{item.usd:>14,.2f}"
            )
        for bucket in ingest:
            mine = sum(c.usd for c in costs if c.bucket == bucket)
            base = sum(c.usd for c in baseline if c.bucket == bucket)
            lines.append(
                f"{bucket:<16}{'all STANDARD':<14}{'':>14}{base / 12:>14,.2f}{base:>14,.2f}"
                + _saving(mine, base)
            )
        total, base = sum(c.usd for c in costs), sum(c.usd for c in baseline)
        met = base == 0 or (base - total) / base >= SAVING_TARGET
        all_met &= met
        lines.append(
            f"{'total':<30}{'':>14}{total / 12:>14,.2f}{total:>14,.2f}   all STANDARD {base:,.2f}"
            + _saving(total, base)
            + f"; target >= {SAVING_TARGET:.0%}: {'PASS' if met else 'FAIL'}"
        )
    lines.append("")
    lines.append(
        f"storage cost down {SAVING_TARGET:.0%} a year against all STANDARD: "
        f"{'met' if all_met else 'NOT met'}"
    )
    return lines


def _saving(cost: float, baseline: float) -> str:
    if baseline == 0:
        return "   saving -"
    return f"   saving {baseline - cost:,.2f} ({(baseline - cost) / baseline:.1%})"


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_environment(args.env)
        lifecycles = synthesized_lifecycles(_load_stack(args.outdir, args.env), args.env)
        lines = report(args.env, cfg.data_lake.ingest_gib_per_day, lifecycles, args.years)
    except (ConfigError, CostError, OSError, KeyError, json.JSONDecodeError) as exc:
        print(f"wh cost: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
