"""The data lake's layout: buckets, their storage tiers and the partition prefixes of each dataset.

One fact in one place: the data-lake stack builds the buckets and lifecycle rules from this module, the
IRSA roles grant access on these prefixes, and the Parquet sink writes objects under `Dataset.key(...)`.
Bucket names are per environment: `bucket_name("dev", RAW)` -> "waardhaven-dev-raw-data".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Transition:
    days: int
    storage_class: str


@dataclass(frozen=True)
class LakeBucket:
    suffix: str
    encryption: str  # "AES256" (S3-managed keys) or "aws:kms" (the data-lake or ml-models KMS key)
    lifecycle_id: str
    transitions: tuple[Transition, ...]


RAW = LakeBucket(
    "raw-data",
    "AES256",
    "raw_data_lifecycle",
    (Transition(30, "STANDARD_IA"), Transition(90, "GLACIER"), Transition(2555, "DEEP_ARCHIVE")),
)
PROCESSED = LakeBucket(
    "processed-data",
    "AES256",
    "processed_data_lifecycle",
    (Transition(90, "STANDARD_IA"), Transition(365, "GLACIER")),
)
ML_MODELS = LakeBucket("ml-models", "aws:kms", "model_lifecycle", (Transition(180, "STANDARD_IA"),))
# Flink's checkpoints, savepoints and HA metadata: short-lived, so no tiering, only noncurrent expiry.
FLINK_STATE = LakeBucket("flink-state", "aws:kms", "flink_state_lifecycle", ())

BUCKETS = (RAW, PROCESSED, ML_MODELS, FLINK_STATE)

FLINK_CHECKPOINTS = "checkpoints/"
FLINK_SAVEPOINTS = "savepoints/"
FLINK_HA = "ha/"


def bucket_name(env: str, bucket: LakeBucket) -> str:
    return f"waardhaven-{env}-{bucket.suffix}"


@dataclass(frozen=True)
class Dataset:
    name: str
    bucket: LakeBucket
    prefix: str  # top-level prefix; IAM grants are scoped to it
    partitions: tuple[str, ...]  # hive-style partition keys, coarsest first
    format: str
    compression: str

    def partition_start(self, at: datetime) -> datetime:
        """The start of the finest partition holding `at` (its hour, day or month)."""
        finest = self.partitions[-1]
        at = at.replace(minute=0, second=0, microsecond=0)
        if finest in ("day", "month", "year"):
            at = at.replace(hour=0)
        if finest in ("month", "year"):
            at = at.replace(day=1)
        return at.replace(month=1) if finest == "year" else at

    def key(self, at: datetime, filename: str) -> str:
        """Object key of `filename` in the partition holding timestamp `at` (zero-padded, see
        docs/requirements.md#storage)."""
        return self.partition_prefix(at, self.partitions[-1]) + filename

    def partition_prefix(self, at: datetime, through: str) -> str:
        """Key prefix of the partition holding `at`, down to partition key `through` ("day": the prefix
        all hours of that day share)."""
        values = {
            "year": f"{at.year:04d}",
            "month": f"{at.month:02d}",
            "day": f"{at.day:02d}",
            "hour": f"{at.hour:02d}",
        }
        names = self.partitions[: self.partitions.index(through) + 1]
        return self.prefix + "".join(f"{name}={values[name]}/" for name in names)


MARKET_DATA = Dataset(
    "market_data", RAW, "market-data/", ("year", "month", "day", "hour"), "parquet", "snappy"
)
NEWS = Dataset("news_data", RAW, "news/", ("year", "month", "day"), "json", "gzip")
INSIDER_TRADING = Dataset("insider_trading", RAW, "insider-trading/", ("year", "month"), "parquet", "snappy")
# The feeds the brief gives no layout for, laid out as their kin are: posts as news, figures as filings.
SOCIAL = Dataset("social_posts", RAW, "social/", ("year", "month", "day"), "json", "gzip")
ECONOMIC_INDICATORS = Dataset(
    "economic_indicators", RAW, "economic-indicators/", ("year", "month"), "parquet", "snappy"
)
COMPANY_METRICS = Dataset("company_metrics", RAW, "company-metrics/", ("year", "month"), "parquet", "snappy")

RAW_DATASETS = (MARKET_DATA, NEWS, INSIDER_TRADING, SOCIAL, ECONOMIC_INDICATORS, COMPANY_METRICS)
# The market-data job's output (ticks with their indicators), written by the pipeline's Parquet sink.
PROCESSED_MARKET_DATA = Dataset(
    "market_data_processed", PROCESSED, MARKET_DATA.prefix, MARKET_DATA.partitions, "parquet", "snappy"
)
# Written by the daily Spark aggregation job.
DAILY_AGGREGATES = Dataset(
    "daily_aggregates", PROCESSED, "daily-aggregates/", ("year", "month", "day"), "parquet", "snappy"
)
# The daily batch's validation of each day's summary: Great Expectations' result (JSON) and its Data Docs
# page (HTML), side by side in the day's partition.
QUALITY_REPORTS = Dataset(
    "quality_reports", PROCESSED, "quality-reports/", ("year", "month", "day"), "json+html", "none"
)
