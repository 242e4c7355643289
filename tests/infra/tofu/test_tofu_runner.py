"""The OpenTofu runner on real binaries against moto, with a hand-written configuration: mirror-only
provider install and lock file, saved plan applied, and the bad inputs (stale lock, interrupted apply)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.bootstrap.gotools import PROVIDERS, mirror_root
from infra.tofu.runner import Tofu, TofuError
from infra.tofu.toolchain import cli_config, providers_required_by
from infra.workflows import review

AWS = PROVIDERS["aws"]


def test_cli_config_installs_providers_only_from_the_mirror(tofu_toolchain):
    text = cli_config().read_text()
    assert "filesystem_mirror" in text
    assert f'path    = "{mirror_root()}"' in text
    assert "direct" not in text and "dev_overrides" not in text


def test_init_locks_against_the_mirror_and_the_saved_plan_is_applied(
    tofu_in, write_config, bucket_config, emulator
):
    config = write_config(bucket_config({"wh-runner-a": {"tags": {"team": "data"}}}))
    assert providers_required_by(config) == {"aws"}

    tofu_in.init()
    lock = (config.parent / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.opentofu.org/hashicorp/aws"' in lock
    assert re.search(rf'version\s+=\s+"{re.escape(AWS.version)}"', lock)
    assert re.search(r'"h1:[A-Za-z0-9+/=]+"', lock)

    plan = config.parent / "deploy.tfplan"
    assert tofu_in.plan(plan) is True
    assert [(c.address, c.kind) for c in review.changes(tofu_in.show_json(plan))] == [
        ("aws_s3_bucket.wh-runner-a", "add")
    ]
    tofu_in.apply(plan)
    assert "wh-runner-a" in {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}
    assert tofu_in.plan(plan) is False, "a second plan with no change must plan nothing"


def test_stale_lock_is_named_with_its_fix_and_state_is_kept(tofu_in, write_config, bucket_config):
    config = write_config(bucket_config({"wh-runner-lock": {}}))
    tofu_in.init()
    plan = config.parent / "deploy.tfplan"
    tofu_in.plan(plan)
    tofu_in.apply(plan)
    state = (config.parent / "terraform.tfstate").read_text()
    lock = config.parent / ".terraform.lock.hcl"
    # As after a toolchain change: the lock names a version the mirror no longer serves.
    lock.write_text(lock.read_text().replace(f'"{AWS.version}"', f'"{AWS.bindings}"'))

    with pytest.raises(TofuError, match="lock file is stale.*--upgrade"):
        tofu_in.init()
    assert (config.parent / "terraform.tfstate").read_text() == state

    tofu_in.init(upgrade=True)
    assert f'"{AWS.version}"' in lock.read_text()
    assert tofu_in.plan(plan) is False


INTERRUPTED_DEPLOY = """
import sys
from infra.config import load_environment
from infra.workflows.deploy import deploy_stack
from infra.workflows.stackset import AwsTarget, Stack
endpoint, workdir = sys.argv[1], sys.argv[2]
target = AwsTarget(load_environment("local"), endpoint, {"TF_VAR_aws_endpoint": endpoint,
                   "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
try:
    deploy_stack(Stack("test-stack", "test", __import__("pathlib").Path(workdir), False), target)
except KeyboardInterrupt as exc:
    print(f"interrupted: {exc}")
    sys.exit(130)
"""


def test_interrupted_apply_saves_state_and_the_next_deploy_converges(
    tofu_toolchain, emulator, write_config, bucket_config, tmp_path
):
    from infra.config import load_environment
    from infra.workflows.deploy import deploy_stack
    from infra.workflows.stackset import AwsTarget, Stack

    names = [f"wh-interrupt-{i:02d}" for i in range(60)]
    config = write_config(bucket_config({name: {} for name in names}))
    s3 = emulator.client("s3")

    def ours() -> set[str]:
        return {b["Name"] for b in s3.list_buckets()["Buckets"]} & set(names)

    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_DEPLOY, emulator.endpoint, str(config.parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not ours() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    output, _ = child.communicate(timeout=120)
    assert child.returncode == 130, output
    assert "interrupted" in output
    created_before = ours()
    assert 0 < len(created_before) < len(names), "the apply was not stopped halfway"

    target = AwsTarget(load_environment("local"), emulator.endpoint, emulator.tofu_env())
    stack = Stack("test-stack", "test", config.parent, False)
    outcome = deploy_stack(stack, target)
    assert outcome.applied
    assert ours() == set(names)
    assert not deploy_stack(stack, target).applied, "after converging, a deploy must plan nothing"
    assert Path(config.parent / "terraform.tfstate").is_file()


def test_apply_output_reaches_the_user_while_the_apply_runs(tofu_toolchain, write_config, tmp_path):
    """The provisioner waits for a file that only the echo of its own first line creates: buffered output
    (printed once OpenTofu exits) would leave it waiting until the runner's timeout."""
    seen = tmp_path / "seen"
    script = f"echo started; while [ ! -e {seen} ]; do sleep 0.05; done; echo released"
    config = write_config(
        {
            "resource": {
                "terraform_data": {
                    "live": {
                        "provisioner": [{"local-exec": {"command": script, "interpreter": ["sh", "-c"]}}]
                    }
                }
            }
        }
    )
    echoed: list[str] = []

    def echo(line: str) -> None:
        echoed.append(line)
        if line.endswith("(local-exec): started"):
            seen.touch()

    tofu = Tofu(config.parent, "live-stack", timeout=60, echo=echo)
    tofu.init()
    plan = config.parent / "deploy.tfplan"
    assert tofu.plan(plan) is True
    result = tofu.apply(plan)
    assert result.returncode == 0
    assert any("released" in line for line in echoed), echoed
    assert all(line.startswith("live-stack: ") for line in echoed)
    assert "Apply complete!" in result.output, "the collected output is still whole"
