"""The Waardhaven pipeline: connectors, Flink jobs, sinks, batch, quality, metrics, local runner."""

import os

# gRPC threads run in a process that hosts a PyFlink Python UDF (loopback mode) or has imported pyspark's
# Connect client (Great Expectations does); with gRPC's fork handlers on, the fork that starts a gateway JVM
# (Flink's, Spark's) can break in the child ("epoll_wait error: Bad file descriptor") and the JVM never
# starts. The child only execs java and needs no gRPC state. gRPC reads this once, on its first import,
# so it is set here, before any module of the package can import it.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
