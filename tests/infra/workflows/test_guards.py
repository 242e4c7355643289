"""Guards follow the environment's declared tier, not its name: teardown refusal, the deploy of an
unreviewed stateful loss in production (real OpenTofu on moto), and `wh destroy`'s confirmation."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from infra.bootstrap.common import REPO
from infra.config import CONFIG_DIR, load_environment, load_file
from infra.process import free_port, pid_alive
from infra.workflows.deploy import deploy_stack
from infra.workflows.stackset import AwsTarget, Refused, Stack
from infra.workflows.teardown import refuse_protected, teardown


def copy_environment(tmp_path: Path, base: str, name: str, **changes) -> Path:
    data = yaml.safe_load((CONFIG_DIR / f"{base}.yaml").read_text())
    data.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("base", "tier"), [("prod", "production"), ("staging", "staging")])
def test_a_new_file_of_a_protected_tier_is_never_torn_down(tmp_path, base, tier):
    cfg = load_file(copy_environment(tmp_path, base, "eu-critical"))
    assert cfg.tier == tier
    with pytest.raises(Refused, match=f"refusing to tear down 'eu-critical': it is of tier '{tier}'"):
        refuse_protected(cfg)
    with pytest.raises(Refused, match="refusing to tear down 'eu-critical'"):
        teardown([], AwsTarget(cfg, None))


def test_an_ephemeral_tier_may_be_torn_down_whatever_its_name(tmp_path):
    cfg = load_file(copy_environment(tmp_path, "loadtest", "prod-like"))
    refuse_protected(cfg)  # no refusal
    refuse_protected(load_environment("local"))


@pytest.fixture
def production_stack(tofu_in, write_config, bucket_config, emulator, tmp_path):
    """A hand-written stack deployed into a production-tier environment's target (on moto)."""
    name = f"wh-guard-{uuid.uuid4().hex[:8]}"
    config = write_config(bucket_config({"lake": {"bucket": f"{name}-v1"}}))
    cfg = load_file(copy_environment(tmp_path, "prod", "eu-prod"))
    target = AwsTarget(cfg, emulator.endpoint, emulator.tofu_env())
    stack = Stack("eu-prod-data-lake", "data-lake", config.parent, False)
    assert deploy_stack(stack, target).applied
    return stack, target, name


def test_deploy_refuses_an_unreviewed_stateful_replacement_in_a_production_tier(
    production_stack, write_config, bucket_config, emulator
):
    stack, target, name = production_stack
    write_config(bucket_config({"lake": {"bucket": f"{name}-v2"}}))  # forces a replacement
    with pytest.raises(Refused, match=r"aws_s3_bucket\.lake.*--reviewed-plans DIR"):
        deploy_stack(stack, target)
    buckets = {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}
    assert f"{name}-v1" in buckets and f"{name}-v2" not in buckets


def test_the_same_replacement_deploys_in_a_development_tier(production_stack, write_config, bucket_config):
    stack, target, name = production_stack
    write_config(bucket_config({"lake": {"bucket": f"{name}-v2"}}))
    dev = AwsTarget(target.cfg.model_copy(update={"tier": "development"}), target.endpoint, target.tofu_env)
    outcome = deploy_stack(stack, dev)
    assert outcome.applied and outcome.plan.count("destroy") == 1


# --- `wh destroy`: confirmation on a terminal, refusal without one, Ctrl-C exits 130 ---


def wh_on_terminal(*args: str) -> tuple[subprocess.Popen, int]:
    """`wh ARGS` on a pseudo-terminal (stdin, stdout and stderr); returns (process, the pty's master fd)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    return proc, master


def read_until(master: int, text: str, timeout: float = 60.0) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {text!r} on the terminal within {timeout}s; saw {seen!r}"
        if select.select([master], [], [], remaining)[0]:
            try:
                seen += os.read(master, 1024).decode(errors="replace")
            except OSError:  # EIO: the command ended
                pytest.fail(f"wh ended without writing {text!r}; wrote {seen!r}")
    return seen


def finish(proc: subprocess.Popen, master: int, timeout: float = 120.0) -> str:
    """Everything the command still writes to the terminal until it exits."""
    seen, deadline = b"", time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"wh still running after {timeout}s; wrote {seen!r}"
            if select.select([master], [], [], remaining)[0]:
                try:
                    chunk = os.read(master, 1024)
                except OSError:  # EIO: the terminal's last writer is gone
                    break
                if not chunk:
                    break
                seen += chunk
        proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
    return seen.decode(errors="replace")


PROMPT = "type the environment's name"


def test_destroy_on_a_terminal_asks_for_the_name_and_stops_on_a_wrong_answer(tmp_path):
    proc, master = wh_on_terminal("destroy", "local", "--outdir", str(tmp_path))
    assert "destroy every stack of 'local'" in read_until(master, PROMPT)
    os.write(master, b"lcoal\n")
    err = finish(proc, master)
    assert proc.returncode == 1
    assert "wh destroy: 'lcoal' is not 'local': nothing destroyed" in err
    assert not any(tmp_path.iterdir()), "nothing may be synthesized before the confirmation"


def test_destroy_on_a_terminal_goes_on_once_the_name_is_typed(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nobody answers: the command stops at its next step
    proc, master = wh_on_terminal("destroy", "local", "--outdir", str(tmp_path), "--aws-endpoint", endpoint)
    read_until(master, PROMPT)
    os.write(master, b"local\n")
    err = finish(proc, master)
    assert proc.returncode == 1
    assert f"the AWS emulator at {endpoint} is not answering" in err


def test_ctrl_c_at_the_confirmation_exits_130(tmp_path):
    proc, master = wh_on_terminal("destroy", "local", "--outdir", str(tmp_path))
    read_until(master, PROMPT)
    proc.send_signal(signal.SIGINT)
    err = finish(proc, master)
    assert proc.returncode == 130, err
    assert "wh: interrupted" in err


def test_destroy_without_a_terminal_needs_yes(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    base = [sys.executable, "-m", "app.cli", "destroy", "local", "--outdir", str(tmp_path)]
    run = {"cwd": REPO, "env": {**os.environ, "PYTHONPATH": str(REPO)}, "capture_output": True, "text": True}
    refused = subprocess.run(base, stdin=subprocess.DEVNULL, timeout=120, **run)
    assert refused.returncode == 1
    assert "wh destroy: no terminal to confirm destroying 'local' on: pass --yes" in refused.stderr
    assert not any(tmp_path.iterdir())

    confirmed = subprocess.run(
        [*base, "--yes", "--aws-endpoint", endpoint], stdin=subprocess.DEVNULL, timeout=120, **run
    )
    assert confirmed.returncode == 1
    assert f"the AWS emulator at {endpoint} is not answering" in confirmed.stderr


def test_sigterm_while_a_command_runs_its_own_local_services_exits_130_and_stops_them(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "deploy", "local", "--outdir", str(tmp_path)],
        cwd=REPO,
        env={k: v for k, v in {**os.environ, "PYTHONPATH": str(REPO)}.items() if k != "TF_VAR_aws_endpoint"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()  # the first thing it says, before the 30 s synth
        assert "started an AWS emulator for this run" in line, line
        emulator_pid = int(line.rsplit("(pid ", 1)[1].rstrip(")\n"))
        line = proc.stderr.readline()
        assert "started a local Kubernetes API for this run" in line, line
        kube_pids = [int(pid) for pid in line.rsplit("(pids ", 1)[1].rstrip(")\n").split()]
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=120)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert not pid_alive(emulator_pid), "the command's own emulator must be stopped"
    assert not any(map(pid_alive, kube_pids)), "and its own local Kubernetes API"
