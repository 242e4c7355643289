"""The `local` environment's services: the AWS emulator and, when local.yaml asks (emulator.kube_apiserver),
the local Kubernetes API, started and stopped together.

As a command (`wh emulator`) they run in the foreground until Ctrl-C, printing what to export for
`wh deploy local` and friends (TF_VAR_aws_endpoint, TF_VAR_kubeconfig); `wh emulator --exec CMD ...` runs
CMD with both exported and stops them when CMD ends (the main job deploys and runs the pipeline on one
local environment). Both keep their state only while they run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from infra.config import load_environment
from infra.kube.apiserver import LocalKubernetes
from infra.process import ServiceError

from .aws import AwsEmulator


@dataclass
class LocalServices:
    aws: AwsEmulator
    kube: LocalKubernetes | None

    def tofu_env(self) -> dict[str, str]:
        return {**self.aws.tofu_env(), **(self.kube.tofu_env() if self.kube else {})}

    def exports(self) -> list[str]:
        lines = [
            f"export TF_VAR_aws_endpoint={self.aws.endpoint}  # moto pid {self.aws.pid}; Ctrl-C stops it"
        ]
        if self.kube is not None:
            variable, path = next(iter(self.kube.tofu_env().items()))
            pids = " ".join(map(str, self.kube.pids))
            lines.append(f"export {variable}={path}  # Kubernetes API {self.kube.server}, pids {pids}")
        return lines


@contextmanager
def local_services(
    kubernetes: bool, port: int | None = None, account_id: str | None = None
) -> Iterator[LocalServices]:
    """The AWS emulator (on `port`, default a free one; acting as `account_id`, default moto's) and, with
    `kubernetes`, the local Kubernetes API."""
    with ExitStack() as stack:
        aws = stack.enter_context(AwsEmulator(port, account_id))
        kube = stack.enter_context(LocalKubernetes()) if kubernetes else None
        yield LocalServices(aws, kube)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=None, help="moto's port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--exec",
        dest="command",
        nargs=argparse.REMAINDER,
        metavar="CMD",
        help="run CMD with TF_VAR_aws_endpoint (and TF_VAR_kubeconfig) set to these services, then stop "
        "them; exit with CMD's status",
    )


def run(args: argparse.Namespace) -> int:
    kubernetes = load_environment("local").local_kubernetes
    # SIGTERM interrupts the start-up and the wait like Ctrl-C; stopping inside the handler would deadlock.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with local_services(kubernetes, args.port) as services:
            if args.command:
                return _run_with(services, args.command)
            print("\n".join(services.exports()), flush=True)
            if services.aws.process and services.aws.process.proc:
                services.aws.process.proc.wait()
            return 0
    except ServiceError as exc:
        print(f"wh emulator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130 if args.command else 0


def _run_with(services: LocalServices, command: list[str]) -> int:
    kube = f", Kubernetes API {services.kube.server}" if services.kube else ""
    print(
        f"wh emulator: {services.aws.endpoint} (moto pid {services.aws.pid}){kube} for: {' '.join(command)}",
        flush=True,
    )
    try:
        return subprocess.run(command, env={**os.environ, **services.tofu_env()}).returncode
    except OSError as exc:
        print(f"wh emulator: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        return 127
