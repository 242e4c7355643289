"""Sinks: processed records out of Kafka into storage.

timescale.py loads market-data-processed into market_data_ts; lake.py writes the same rows as Parquet under
lake_layout.py's partitions; offsets.py reads topic and consumer-group positions for both.
"""
