"""`wh emulator`: a long-running moto and local Kubernetes API for a shell session, stopped by SIGTERM or
Ctrl-C with every process it started."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from infra.emulator.aws import answers
from infra.kube.apiserver import answers as kubernetes_answers
from infra.process import pid_alive
from tests import REPO


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_command_and_its_moto_server(stop_signal):
    command = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "emulator"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        # A child of a non-interactive shell ignores SIGINT; a terminal's Ctrl-C does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = command.stdout.readline()
        endpoint, moto_pid = re.search(r"=(http://127\.0\.0\.1:\d+)\s+# moto pid (\d+)", line).groups()
        assert answers(endpoint)
        line = command.stdout.readline()
        kubeconfig, kube_pids = re.search(
            r"TF_VAR_kubeconfig=(\S+)\s+# Kubernetes API .*, pids ([\d ]+)", line
        ).groups()
        assert kubernetes_answers(kubeconfig)
        pids = [int(moto_pid), *map(int, kube_pids.split())]
        assert len(pids) == 4  # moto, etcd, kube-apiserver, kube-controller-manager

        command.send_signal(stop_signal)

        assert command.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while any(map(pid_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(pid_alive, pids)) and not answers(endpoint) and not kubernetes_answers(kubeconfig)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()


def test_exec_runs_the_command_against_the_emulator_then_stops_it_and_passes_on_its_status():
    probe = (
        "import os, sys; from infra.emulator.aws import answers; "
        "from infra.kube.apiserver import answers as kube; "
        "endpoint = os.environ['TF_VAR_aws_endpoint']; print(endpoint); "
        "sys.exit(3 if answers(endpoint) and kube(os.environ['TF_VAR_kubeconfig']) else 1)"
    )
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "emulator", "--exec", sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 3, done.stderr
    endpoint = done.stdout.splitlines()[-1]
    moto_pid = int(re.search(r"moto pid (\d+)", done.stdout).group(1))
    assert not answers(endpoint) and not pid_alive(moto_pid)


def test_exec_of_a_missing_command_says_so():
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "emulator", "--exec", "/nonexistent/tool"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 127
    assert "cannot run '/nonexistent/tool'" in done.stderr
