"""Where the Go-built OpenTofu and providers are, the CLI config that serves providers from the mirror,
and the environment the pinned cdktf CLI runs them with.

Nothing here builds: a missing part raises ToolchainMissing naming the bootstrap command that builds it.
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.bootstrap import gotools
from infra.bootstrap.common import cache_root, is_complete

BUILD_COMMAND = "python3 -m infra.bootstrap tofu providers"


class ToolchainMissing(RuntimeError):
    """OpenTofu or a provider has not been built on this machine."""


def tofu_binary() -> Path:
    if not is_complete(gotools.tool_dir(gotools.TOFU)):
        raise ToolchainMissing(f"OpenTofu {gotools.TOFU.version} is not built: run `{BUILD_COMMAND}`")
    return gotools.binary_path(gotools.TOFU)


def require_providers(types: set[str]) -> None:
    """Every provider a configuration uses must be in the mirror, at the version the mirror serves."""
    for name in sorted(types):
        provider = gotools.PROVIDERS.get(name)
        if provider is None:
            allowed = ", ".join(gotools.PROVIDERS)
            raise ToolchainMissing(f"provider {name!r} is not one the toolchain builds (allowed: {allowed})")
        if not gotools.mirror_binary(provider).is_file():
            raise ToolchainMissing(
                f"provider {name} {provider.version} is not in the mirror {gotools.mirror_root()}: "
                f"run `{BUILD_COMMAND}`"
            )


def cli_config() -> Path:
    """The TF_CLI_CONFIG_FILE: providers only from the mirror (no `direct` block, so nothing is fetched)."""
    text = (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{gotools.mirror_root()}"\n'
        f'    include = ["{gotools.MIRROR_HOST}/{gotools.MIRROR_NAMESPACE}/*"]\n'
        "  }\n"
        "}\n"
    )
    path = cache_root() / "tofu" / "cli.tfrc"
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def providers_required_by(config: Path) -> set[str]:
    """The provider types a synthesized stack requires; each must require the version the mirror serves.

    The stacks are synthesized with the built versions (stacks.app.require_built_providers): another
    version here means the directory was synthesized by an older checkout, so it is refused, not rewritten.
    """
    terraform = json.loads(config.read_text(encoding="utf-8")).get("terraform", {})
    required = terraform.get("required_providers", {})
    types = set()
    for local_name, spec in required.items():
        name = spec.get("source", local_name).split("/")[-1]
        provider = gotools.PROVIDERS.get(name)
        if provider is not None and spec.get("version") != provider.version:
            raise ToolchainMissing(
                f"{config} requires {name} {spec.get('version')}, the mirror serves {provider.version}: "
                "synthesize it again (wh synth)"
            )
        types.add(name)
    return types


def cdktf_environment() -> dict[str, str]:
    """What the pinned cdktf CLI needs to run the built OpenTofu on the mirror's providers (bin/cdktf)."""
    return {
        "TERRAFORM_BINARY_NAME": str(tofu_binary()),
        "TF_CLI_CONFIG_FILE": str(cli_config()),
        "CHECKPOINT_DISABLE": "1",  # no version check calls home (cdktf and OpenTofu both read it)
    }
