"""`python -m app.serve [--metrics-host HOST --metrics-port PORT] COMMAND [ARG ...]`: what the services'
image runs. It serves the process's Prometheus metrics on HOST:PORT (with a port), then runs
`wh COMMAND ARG ...` in the same process and ends with its exit code.

A service's metrics so reach Prometheus on the pod's address (the `wh` commands serve theirs on loopback,
if at all), and the same endpoint answers the kubelet's probes: a process whose server is gone is restarted.
Only the commands that run in the cluster are here, so the image imports no laptop or operations code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# wh's command -> its module (as app/cli.py's COMMANDS), for the commands that run in the cluster.
COMMANDS = {
    "connect": "app.connectors.command",
    "load": "app.sinks.command",
    "migrate": "app.migrations",
    "topics": "app.catalog.command",  # the Kafka chart's helm test: --verify
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.serve", description=__doc__)
    parser.add_argument("--metrics-host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="serve /metrics here (0, the default: off)"
    )
    parser.add_argument("command", choices=sorted(COMMANDS), help="the wh command")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command])
    command = argparse.ArgumentParser(prog=f"wh {args.command}", description=module.__doc__)
    module.add_arguments(command)
    parsed = command.parse_args(args.arguments)
    if args.metrics_port:
        from app import metrics

        metrics.serve(args.metrics_port, host=args.metrics_host)
    return int(module.run(parsed) or 0)


if __name__ == "__main__":
    sys.exit(main())
