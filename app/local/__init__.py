"""The laptop runtime: the pipeline's services (Kafka, PostgreSQL, the Flink mini-cluster) started and
stopped by pid, local job submission, and the bounded local pipeline run.
Nothing in the cluster imports it."""
