"""The Waardhaven pipeline: connectors, Flink jobs, sinks, batch, quality, metrics, local runner."""
