"""The S3 storage cost of the lake: each bucket's daily ingest, kept as its lifecycle rule says, priced with
the public S3 prices of s3_prices.yaml; and the same data kept in STANDARD, the baseline of the saving.

The model, by day: what is written on day d has age t - d on day t and sits in the storage class of the
last transition whose `days` it has reached (STANDARD before the first), until an expiration removes it.
A day of storage costs the class's GB-month price / (365 / 12). STANDARD is priced on the account's
STANDARD volume of the day, tier by tier (first 50 TB, next 450 TB, over 500 TB), shared out among the
buckets by their share of it. Year n is days 365 (n - 1) to 365 n of a lake that started empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from app.sinks import lake_layout
from app.yamlconfig import ConfigError, read_yaml, validate

PRICES_FILE = Path(__file__).with_name("s3_prices.yaml")
# Buckets whose objects are deleted soon after they are written (Flink discards superseded checkpoints):
# they cost what their noncurrent-version rule keeps, not what their transitions say.
DELETED_AFTER_WRITE = (lake_layout.FLINK_STATE.suffix,)
STANDARD = "STANDARD"
DAYS_PER_YEAR = 365
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # a GB-month: a GB kept for a month, prorated by the hour


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardTier(_Model):
    up_to_gib: float | None = Field(default=None, gt=0)  # None: the last tier, no limit
    price: float = Field(gt=0)


class Prices(_Model):
    region: str = Field(min_length=1)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    source: str = Field(min_length=1)
    standard_tiers: list[StandardTier] = Field(min_length=1)
    storage_classes: dict[str, float]

    def price(self, storage_class: str) -> float:
        """USD per GB-month of a class; STANDARD at its first tier."""
        if storage_class == STANDARD:
            return self.standard_tiers[0].price
        return self.storage_classes[storage_class]

    def standard_month(self, gib: float) -> float:
        """What `gib` of STANDARD cost for a month, tier by tier."""
        cost, below = 0.0, 0.0
        for tier in self.standard_tiers:
            limit = tier.up_to_gib if tier.up_to_gib is not None else float("inf")
            cost += max(0.0, min(gib, limit) - below) * tier.price
            below = limit
            if gib <= limit:
                break
        return cost


@cache
def prices(path: Path = PRICES_FILE) -> Prices:
    loaded = validate(path, read_yaml(path), Prices)
    limits = [tier.up_to_gib for tier in loaded.standard_tiers]
    if limits[-1] is not None or None in limits[:-1] or limits[:-1] != sorted(limits[:-1]):
        raise ConfigError(path, "standard_tiers", "increasing up_to_gib limits, the last tier without one")
    return loaded


@dataclass(frozen=True)
class Tier:
    """An object's storage class from age `from_day` until `to_day` (None: for good)."""

    storage_class: str
    from_day: int
    to_day: int | None


def tiers(transitions: Iterable[tuple[int, str]], expiration_days: int | None = None) -> list[Tier]:
    """The classes an object passes through with these (days, storage class) transitions."""
    steps = sorted(transitions)
    starts = [(0, STANDARD), *steps]
    result = []
    for (start, storage_class), (end, _) in zip(starts, [*steps, (expiration_days, "")], strict=True):
        if expiration_days is not None and start >= expiration_days:
            break
        if end is not None and expiration_days is not None:
            end = min(end, expiration_days)
        result.append(Tier(storage_class, start, end))
    return result


def all_standard(tiered: Sequence[Tier]) -> list[Tier]:
    """The baseline: the same objects, kept as long, never leaving STANDARD."""
    return [Tier(STANDARD, 0, tiered[-1].to_day if tiered else None)]


def stored_gib(ingest_gib_per_day: float, lifecycle: Sequence[Tier], day: int) -> dict[str, float]:
    """GiB in each class on `day` (0 = the first day) of a lake that gets `ingest_gib_per_day` from day 0."""
    held: dict[str, float] = defaultdict(float)
    for tier in lifecycle:
        ages = min(tier.to_day if tier.to_day is not None else day + 1, day + 1) - tier.from_day
        if ages > 0:
            held[tier.storage_class] += ingest_gib_per_day * ages
    return held


@dataclass(frozen=True)
class ClassCost:
    bucket: str
    storage_class: str
    gib_months: float
    usd: float


def year_cost(
    buckets: Mapping[str, tuple[float, Sequence[Tier]]], year: int, price_list: Prices | None = None
) -> list[ClassCost]:
    """The cost of year `year` (1 = the first) per bucket and class; `buckets`: name -> (GiB/day, tiers)."""
    price_list = price_list or prices()
    gib_days: dict[tuple[str, str], float] = defaultdict(float)
    usd: dict[tuple[str, str], float] = defaultdict(float)
    for day in range(DAYS_PER_YEAR * (year - 1), DAYS_PER_YEAR * year):
        held = {name: stored_gib(ingest, lifecycle, day) for name, (ingest, lifecycle) in buckets.items()}
        standard = sum(classes.get(STANDARD, 0.0) for classes in held.values())
        standard_day = price_list.standard_month(standard) / DAYS_PER_MONTH
        for name, classes in held.items():
            for storage_class, gib in classes.items():
                gib_days[name, storage_class] += gib
                if storage_class == STANDARD:
                    usd[name, storage_class] += standard_day * gib / standard
                else:
                    usd[name, storage_class] += gib * price_list.price(storage_class) / DAYS_PER_MONTH
    return [
        ClassCost(
            name, storage_class, gib_days[name, storage_class] / DAYS_PER_MONTH, usd[name, storage_class]
        )
        for name, storage_class in sorted(gib_days, key=lambda key: (key[0], _class_order(key[1])))
    ]


def _class_order(storage_class: str) -> int:
    order = [STANDARD, "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]
    return order.index(storage_class) if storage_class in order else len(order)


def layout_tiers(bucket: lake_layout.LakeBucket) -> list[Tier]:
    """A lake bucket's tiers as app/sinks/lake_layout.py declares them (the data-lake stack's source)."""
    return tiers((t.days, t.storage_class) for t in bucket.transitions)


def year_one_cost_per_daily_gib(price_list: Prices | None = None) -> dict[str, dict[str, float]]:
    """USD of a lake bucket's first year per GiB/day of ingest, tiered and all STANDARD, at the first
    STANDARD price tier (linear in ingest: the dashboard scales it by the measured rate). Not for the
    DELETED_AFTER_WRITE buckets, whose cost is the environment's noncurrent expiry (`wh cost`)."""
    price_list = price_list or prices()
    result = {}
    for bucket in lake_layout.BUCKETS:
        if bucket.suffix in DELETED_AFTER_WRITE:
            continue
        plans = {"tiered": layout_tiers(bucket), "standard": all_standard(layout_tiers(bucket))}
        result[bucket.suffix] = {
            plan: sum(
                gib * price_list.price(storage_class) / DAYS_PER_MONTH
                for day in range(DAYS_PER_YEAR)
                for storage_class, gib in stored_gib(1.0, lifecycle, day).items()
            )
            for plan, lifecycle in plans.items()
        }
    return result
