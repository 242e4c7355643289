"""A job's entry point inside a Flink cluster: the FlinkDeployment's PythonDriver runs this module.

The cluster's configuration (checkpoints, state backend, restarts) comes from the FlinkDeployment, which
charts/flink-jobs renders from the same app/flink/jobs.yaml the local runtime uses; the UDF jar is in
the image at UDF_JAR.
"""

from __future__ import annotations

import argparse
import sys

from app.flink import config, jobs

UDF_JAR = "file:///opt/flink/usrlib/waardhaven-flink-udfs.jar"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.flink.cluster", description=__doc__)
    parser.add_argument("job", choices=sorted(jobs.JOBS))
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--env", required=True, choices=config.environments())
    args = parser.parse_args(argv)

    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    settings = config.settings(args.env)
    module = jobs.JOBS[args.job]
    tables = StreamTableEnvironment.create(StreamExecutionEnvironment.get_execution_environment())
    for key, value in module.table_configuration(settings).items():
        tables.get_config().set(key, value)
    tables.get_config().set("pipeline.name", jobs.job_name(args.job))
    module.build(tables, settings, args.bootstrap_servers, UDF_JAR).execute().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
