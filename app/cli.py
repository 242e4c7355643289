"""`wh`: the one command-line entry point of the platform.

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`.
Modules are imported only to build the parser, so they keep heavy imports (cdktf, pyflink) inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). A new command is one line here plus its module.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("stacks.synth_command", "synthesize the Terraform JSON of every stack of environments"),
    "deploy": ("infra.workflows.deploy", "synth, plan and apply one environment, stack by stack"),
    "plan": ("infra.workflows.plan", "plan environments and render the pull-request plan review"),
    "drift": ("infra.workflows.drift", "report resources changed outside OpenTofu (exit 2 on drift)"),
    "destroy": ("infra.workflows.destroy", "tear down an ephemeral environment in order (not prod/staging)"),
    "recreate": ("infra.workflows.recreate", "tear down and deploy again a load-test environment"),
    "cost": (
        "infra.workflows.cost",
        "monthly and yearly S3 storage cost of an environment's lake, and the saving",
    ),
    "ci-role": ("infra.workflows.ci_role", "the ARN of the role GitHub Actions plans or deploys ENV with"),
    "policy": ("policies.command", "check synthesized stacks and the topic catalog against the policies"),
    "bench": ("app.bench_command", "list or run the benchmarks (each against a same-run baseline)"),
    "emulator": (
        "infra.emulator.local",
        "run the local AWS emulator (moto) and Kubernetes API in the foreground",
    ),
    "flink-job": ("app.local.flink_command", "run a Flink job (market-data, news) on the local mini-cluster"),
    "pipeline": (
        "app.local.pipeline_command",
        "run the pipeline locally: connector, Kafka, Flink, PostgreSQL, Parquet lake; print a summary",
    ),
    "migrate": ("app.migrations", "apply the pending sql/ migrations to a PostgreSQL/TimescaleDB database"),
    "connect": (
        "app.connectors.command",
        "run connectors (sources.yaml) into Kafka from their cursors, or list and check the sources",
    ),
    "load": ("app.sinks.command", "store topics into their tables and lake datasets (app/sinks/loads.py)"),
    "topics": (
        "app.catalog.command",
        "show the topic catalog, render Strimzi KafkaTopics, or create the topics",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wh", description="Waardhaven data platform: provision and run the pipeline."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("wh: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
