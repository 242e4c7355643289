"""`wh emulator`: a long-running moto for a shell session, stopped by SIGTERM or Ctrl-C with its server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from app.local.aws_emulator import answers
from app.local.process import pid_alive

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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

        command.send_signal(stop_signal)

        assert command.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while pid_alive(int(moto_pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(int(moto_pid)) and not answers(endpoint)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
