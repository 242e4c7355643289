"""Data-quality suites over what the sinks write and the batch produces, and the quality score they export
(pipeline_data_quality_score)."""
