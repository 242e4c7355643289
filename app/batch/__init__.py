"""The daily batch over the Parquet lake (the Spark job of the ScheduledSparkApplication): per-symbol
daily aggregates read from app/sinks/lake_layout partitions and written back to the lake."""
