"""`cdktf diff` and `cdktf deploy` as cdktf users run them (bin/cdktf: the npm-pinned CLI, the built OpenTofu,
providers only from the mirror) on one small `local` stack against the AWS emulator, end to end."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.bootstrap.common import REPO
from infra.bootstrap.gotools import PROVIDERS
from infra.emulator.aws import AwsEmulator

pytestmark = pytest.mark.integration
STACK = (
    "local-kms"  # a few keys and aliases; it reads nothing from local-state, whose backend it does not use
)
COMMAND_TIMEOUT = 900  # one synth, or one stack's init + plan/apply: a hang fails here, not the CI run


def _cdktf(*args: str, emulator: AwsEmulator, outdir: Path) -> str:
    env = {**os.environ, "TF_VAR_aws_endpoint": emulator.endpoint}
    proc = subprocess.run(
        [str(REPO / "bin" / "cdktf"), *args, "--output", str(outdir), "--no-color"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"bin/cdktf {' '.join(args)} exited {proc.returncode}:\n{output[-4000:]}"
    return output


def _aliases(emulator: AwsEmulator) -> set[str]:
    return {alias["AliasName"] for alias in emulator.client("kms").list_aliases()["Aliases"]}


def test_diff_deploy_then_diff_again_changes_nothing(tofu_toolchain, emulator, tmp_path):
    outdir = tmp_path / "cdktf.out"
    first = _cdktf("diff", STACK, emulator=emulator, outdir=outdir)

    stack_dir = outdir / "stacks" / STACK
    resources = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]
    aliases = {alias["name"] for alias in resources["aws_kms_alias"].values()}
    count = sum(len(by_name) for by_name in resources.values())
    assert aliases and not aliases & _aliases(emulator)
    assert f"Plan: {count} to add, 0 to change, 0 to destroy" in first, first[-4000:]
    lock = (stack_dir / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.opentofu.org/hashicorp/aws"' in lock, lock
    assert f'version     = "{PROVIDERS["aws"].version}"' in lock, "the built provider, from the mirror"

    deploy = ("deploy", STACK, "--auto-approve", "--skip-synth", "--ignore-missing-stack-dependencies")
    _cdktf(*deploy, emulator=emulator, outdir=outdir)
    assert aliases <= _aliases(emulator)
    kms = emulator.client("kms")
    assert all(
        kms.get_key_rotation_status(KeyId=k["KeyId"])["KeyRotationEnabled"] for k in kms.list_keys()["Keys"]
    )

    again = _cdktf("diff", STACK, "--skip-synth", emulator=emulator, outdir=outdir)
    assert "No changes" in again, again[-4000:]


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (None, "the local stacks run against the AWS emulator: start it (`bin/wh emulator`)"),
        ("http://127.0.0.1:9", "the AWS emulator at http://127.0.0.1:9 is not answering: start it"),
    ],
)
def test_a_local_stack_without_an_answering_emulator_fails_at_once_naming_the_fix(endpoint, message):
    env = {k: v for k, v in os.environ.items() if k != "TF_VAR_aws_endpoint"}
    if endpoint:
        env["TF_VAR_aws_endpoint"] = endpoint
    proc = subprocess.run(
        [str(REPO / "bin" / "cdktf"), "deploy", STACK], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"cdktf: {message}"), proc.stderr
