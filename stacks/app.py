"""Build and synthesize the stack set of each environment (see the package docstring for the contract)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from infra.bootstrap.provider_versions import BUILT_VERSIONS
from infra.config import CONFIG_DIR, EnvironmentConfig, load_environment

# layer -> layers it depends on (besides `state`, which every other layer depends on). The stacks create
# exactly these dependencies; a test checks this table against the synthesized manifest.
LAYERS: dict[str, tuple[str, ...]] = {
    "state": (),
    "kms": (),
    "network": ("kms",),
    "data-lake": ("kms",),
    "secrets": ("kms",),
    "eks": ("network", "kms"),
    "irsa": ("eks", "kms", "data-lake"),
    "operators": ("eks", "irsa"),
    "platform": ("operators", "irsa", "secrets"),
}
# Layers that need a live Kubernetes API to plan or apply (the local AWS emulator has none).
KUBERNETES_LAYERS = frozenset({"operators", "platform"})


class SynthError(RuntimeError):
    """Synth cannot start; the message names what is missing and how to get it."""


@dataclass(frozen=True)
class StackInfo:
    name: str
    env: str
    layer: str
    needs_kubernetes: bool
    dependencies: tuple[str, ...]


def stack_plan(env: str) -> list[StackInfo]:
    """The environment's stacks in dependency order (a dependency always comes before its dependents)."""

    def needs(layer: str) -> tuple[str, ...]:
        return () if layer == "state" else ("state", *LAYERS[layer])

    return [
        StackInfo(
            f"{env}-{layer}",
            env,
            layer,
            layer in KUBERNETES_LAYERS,
            tuple(f"{env}-{n}" for n in needs(layer)),
        )
        for layer in LAYERS
    ]


def build_environment(app, cfg: EnvironmentConfig) -> dict:
    """Add the environment's stacks to `app`; returns them by layer."""
    from .data_lake import DataLakeStack
    from .eks import EksStack
    from .irsa import IrsaStack
    from .kms import KmsStack
    from .network import NetworkStack
    from .operators import OperatorsStack
    from .platform import PlatformStack
    from .secrets import SecretsStack
    from .state import StateStack

    state = StateStack(app, cfg)
    kms = KmsStack(app, cfg)
    network = NetworkStack(app, cfg, kms)
    data_lake = DataLakeStack(app, cfg, kms)
    secrets = SecretsStack(app, cfg, kms)
    eks = EksStack(app, cfg, network, kms)
    irsa = IrsaStack(app, cfg, eks, kms, data_lake)
    operators = OperatorsStack(app, cfg, eks, irsa)
    platform = PlatformStack(app, cfg, operators, irsa, secrets)
    stacks = {
        stack.layer: stack
        for stack in (state, kms, network, data_lake, secrets, eks, irsa, operators, platform)
    }
    for layer, stack in stacks.items():
        if layer != "state":
            stack.add_dependency(state)  # its backend lives in the state stack
        require_built_providers(stack)
    return stacks


def require_built_providers(stack) -> None:
    """Require the provider versions built into the mirror, not those cdktf's bindings were generated for.

    With this in the synthesized JSON, `wh deploy` and `cdktf deploy` both install exactly the built ones.
    """
    from cdktf import TerraformProvider

    for provider in stack.node.find_all():
        if not isinstance(provider, TerraformProvider):
            continue
        source = provider.terraform_provider_source or provider.terraform_resource_type
        source = source if "/" in source else f"hashicorp/{source}"  # the registry's default namespace
        if source not in BUILT_VERSIONS:
            raise SynthError(
                f"{stack.node.id} uses provider {source}, which the toolchain does not build "
                f"(built: {', '.join(BUILT_VERSIONS)}; infra/bootstrap/provider_versions.py)"
            )
        name = provider.terraform_resource_type
        stack.add_override(f"terraform.required_providers.{name}.version", BUILT_VERSIONS[source])


def synth(env_names: list[str], outdir: Path | str, config_dir: Path = CONFIG_DIR) -> dict:
    """Synthesize the environments (files in `config_dir`) into one cdktf output directory; returns its
    manifest."""
    configs = [load_environment(name, config_dir) for name in env_names]  # bad config fails before jsii
    if shutil.which("node") is None:
        raise SynthError(
            "cdktf runs its constructs in Node.js, and `node` is not on PATH: `apt-get install nodejs`"
        )
    # infra.constructs must come before cdktf starts jsii: lazy bindings, no Node end-of-life banner.
    import infra.constructs  # noqa: F401

    # isort: split
    from cdktf import App

    Path(outdir).mkdir(parents=True, exist_ok=True)  # cdktf creates only the last level
    app = App(outdir=str(outdir), stack_traces=False)
    for cfg in configs:
        build_environment(app, cfg)
    app.synth()
    return json.loads((Path(outdir) / "manifest.json").read_text(encoding="utf-8"))
