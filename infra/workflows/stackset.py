"""An environment's stacks made ready for OpenTofu: synthesized, ordered, checked against the mirror, its AWS.

The workflows (deploy, plan review, drift, destroy/recreate) all start here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.yamlconfig import ConfigError
from infra.config import CONFIG_DIR, EnvironmentConfig, load_environment
from infra.config.arguments import add_env, add_outdir
from infra.emulator.aws import CREDENTIALS, ServiceError, account_of, require_answering, tofu_env
from infra.emulator.local import local_services
from infra.kube.apiserver import KUBECONFIG_VARIABLE
from infra.kube.apiserver import require_answering as require_kubernetes
from infra.tofu.runner import Tofu, TofuError
from infra.tofu.toolchain import ToolchainMissing, providers_required_by, require_providers, tofu_binary


class Refused(RuntimeError):
    """A guard said no (protected tier, unreviewed stateful loss, reviewed plan no longer valid)."""


# What a workflow command reports as one clear line (exit 1) instead of a traceback.
EXPECTED_ERRORS = (ConfigError, ServiceError, ToolchainMissing, TofuError, Refused)


@dataclass(frozen=True)
class Stack:
    name: str
    layer: str
    workdir: Path
    needs_kubernetes: bool
    providers: frozenset[str] = frozenset({"aws"})

    @property
    def config(self) -> Path:
        return self.workdir / "cdk.tf.json"  # as cdktf names it in each stack directory


@dataclass
class AwsTarget:
    """Where an environment's AWS is: the emulator's endpoint in `local`, the real account elsewhere; and,
    in `local`, the kubeconfig of its local Kubernetes API (None: the Kubernetes stacks are skipped)."""

    cfg: EnvironmentConfig
    endpoint: str | None
    tofu_env: dict[str, str] = field(default_factory=dict)
    kubeconfig: Path | None = None

    @property
    def emulated(self) -> bool:
        return self.endpoint is not None

    def client(self, service: str) -> Any:
        import boto3

        if self.endpoint is None:
            return boto3.client(service, region_name=self.cfg.region)
        keys = {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "test"}
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.cfg.region, **keys)

    def kubernetes_client(self) -> Any:
        """A kubernetes client to the environment's cluster: the local API's kubeconfig here; elsewhere the
        default kubeconfig's context named after the cluster (`aws eks update-kubeconfig --alias`)."""
        from kubernetes import config

        if self.kubeconfig is not None:
            return config.new_client_from_config(config_file=str(self.kubeconfig))
        cluster = self.cfg.cluster_name
        try:
            return config.new_client_from_config(context=cluster)
        except config.ConfigException as exc:
            raise ServiceError(
                f"no kubeconfig context {cluster!r} for the releases inside {cluster} ({exc}): run "
                f"`aws eks update-kubeconfig --name {cluster} --alias {cluster}`"
            ) from None

    def tofu(self, stack: Stack) -> Tofu:
        require_providers(set(stack.providers))  # only stacks that run need their providers built
        return Tofu(stack.workdir, stack.name, env=self.tofu_env)

    def skip_reason(self, stack: Stack) -> str | None:
        """Why this stack is left out here, or None: an emulated environment without the local Kubernetes
        API has no Kubernetes API to plan against."""
        if self.emulated and stack.needs_kubernetes and self.kubeconfig is None:
            return "needs a live Kubernetes API: the local AWS emulator has none, and no local one is given"
        return None


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def synthesize(env: str, outdir: Path, config_dir: Path = CONFIG_DIR) -> list[Stack]:
    """Synthesize `env` into `outdir`: its stacks in dependency order, with the providers each requires."""
    from stacks.app import stack_plan, synth

    load_environment(env, config_dir)  # an unknown or invalid environment fails here, naming the file
    tofu_binary()  # a missing OpenTofu fails before the 30 s synth
    outdir = outdir.resolve()  # OpenTofu runs inside each stack's directory: paths must not be relative
    say(f"synth {env} -> {outdir}")
    manifest = synth([env], outdir, config_dir)
    stacks = []
    for info in stack_plan(env):
        config = outdir / manifest["stacks"][info.name]["synthesizedStackPath"]
        providers = frozenset(providers_required_by(config))
        stacks.append(Stack(info.name, info.layer, config.parent, info.needs_kubernetes, providers))
    return stacks


@contextmanager
def aws_target(env: str, endpoint: str | None = None, config_dir: Path = CONFIG_DIR) -> Iterator[AwsTarget]:
    """The environment's AWS for the length of a command.

    In an emulated environment an endpoint given (argument or TF_VAR_aws_endpoint) must answer, as the
    environment's account; with none, an emulator acting as that account is started for this command only
    (its resources go when it stops).
    """
    cfg = load_environment(env, config_dir)
    tofu_binary()  # a missing OpenTofu fails before any service is started for it
    if cfg.emulator is None:
        yield AwsTarget(cfg, None)
        return
    endpoint = endpoint or os.environ.get("TF_VAR_aws_endpoint")
    if endpoint:
        require_answering(endpoint)
        account = account_of(endpoint)
        if account != cfg.account_id:
            raise ServiceError(
                f"the AWS emulator at {endpoint} acts as account {account}, and {env} is account "
                f"{cfg.account_id}: start one with MOTO_ACCOUNT_ID={cfg.account_id}, or pass no endpoint "
                "and one is started for this run"
            )
        environment = tofu_env(endpoint, cfg.region)
        kubeconfig = _given_kubernetes(cfg, endpoint)
        if kubeconfig is not None:
            environment[KUBECONFIG_VARIABLE] = str(kubeconfig)
        yield AwsTarget(cfg, endpoint, environment, kubeconfig)
        return
    with _sigterm_interrupts(), local_services(cfg.local_kubernetes, account_id=cfg.account_id) as services:
        kube = services.kube
        aws = services.aws
        say(f"started an AWS emulator for this run at {aws.endpoint} (pid {aws.pid})")
        if kube is not None:
            pids = " ".join(map(str, kube.pids))
            say(f"started a local Kubernetes API for this run at {kube.server} (pids {pids})")
        environment = {**tofu_env(aws.endpoint, cfg.region), **(kube.tofu_env() if kube else {})}
        yield AwsTarget(cfg, aws.endpoint, environment, kube.kubeconfig if kube else None)


def _given_kubernetes(cfg: EnvironmentConfig, endpoint: str) -> Path | None:
    """The running local Kubernetes API that goes with a running emulator (both live only as long as they
    run, so one started for this command alone would hold none of the deployed objects)."""
    if not cfg.local_kubernetes:
        return None
    kubeconfig = os.environ.get(KUBECONFIG_VARIABLE)
    if not kubeconfig:
        raise ServiceError(
            f"the AWS emulator at {endpoint} is given but no local Kubernetes API ({KUBECONFIG_VARIABLE} is "
            f"unset), which {cfg.name!r} deploys into: start both with `bin/wh emulator` and export what it "
            "prints, or set neither and both are started for this run"
        )
    require_kubernetes(kubeconfig)
    return Path(kubeconfig)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the command as Ctrl-C does (KeyboardInterrupt: the emulator is stopped, exit 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("terminated")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_common_arguments(parser: Any, *, many: bool = False) -> None:
    add_env(parser, many=many)
    add_outdir(parser)
    parser.add_argument(
        "--aws-endpoint",
        default=None,
        help="emulated environments: a running emulator URL (default $TF_VAR_aws_endpoint, else start one)",
    )


def report_errors(command: str, exc: BaseException) -> int:
    say(f"wh {command}: {exc}")
    return 1
