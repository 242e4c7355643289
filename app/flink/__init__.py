"""PyFlink jobs of the pipeline: market-data enrichment and news sentiment (see app/flink/README.md)."""
