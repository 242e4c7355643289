"""A thin runner for one OpenTofu working directory: init, plan to a file, apply that file, show -json.

Failures raise TofuError with the stack, the command, the tail of OpenTofu's output and, when the cause is
a known one (emulator down, stale dependency lock, missing provider), what to do about it. A state lock
held by another run is reported with its id, holder and age, and how to release it if that run is dead
(`TofuError.lock`). An interrupt (SIGINT/SIGTERM to us) is passed to OpenTofu as SIGINT, which makes it stop
cleanly and save its state; a SIGKILL cannot be, and leaves the lock of an S3 backend held.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .toolchain import BUILD_COMMAND, cli_config, tofu_binary

OUTPUT_TAIL_LINES = 12
DEFAULT_TIMEOUT = 1800.0


class TofuError(RuntimeError):
    """An OpenTofu command failed; str() is the whole explanation, `output` all OpenTofu printed, `lock`
    the state lock another run holds when that is why."""

    def __init__(self, message: str, output: str = "", lock: LockInfo | None = None) -> None:
        super().__init__(message)
        self.output = output
        self.lock = lock


@dataclass(frozen=True)
class LockInfo:
    """The holder of a state lock, as OpenTofu prints it in "Error acquiring the state lock"."""

    id: str
    who: str
    operation: str
    created: str

    @classmethod
    def parse(cls, output: str) -> LockInfo | None:
        if "Error acquiring the state lock" not in output:
            return None
        fields = dict(_LOCK_FIELD.findall(output))
        if "ID" not in fields:
            return None
        unknown = "(not printed)"
        return cls(
            fields["ID"],
            fields.get("Who", unknown),
            fields.get("Operation", unknown),
            fields.get("Created", unknown),
        )


# "  ID:        6a0b...", possibly inside the diagnostic's box ("│   ID: ...").
_LOCK_FIELD = re.compile(r"^[│\s]*(ID|Who|Operation|Created):[ \t]*(\S.*?)[ \t]*$", re.M)


def lock_report(name: str, workdir: Path, lock: LockInfo) -> str:
    """What to do about a lock: wait for a live holder; release a dead one's, and only then."""
    return (
        f"{name}: the state is locked by another run: lock {lock.id}, held by {lock.who} "
        f"({lock.operation}) since {lock.created}.\n"
        "If that run is still going, wait for it to end and run again. If it was killed (SIGKILL, a lost CI "
        "runner), nothing will ever release its lock: once you are sure no other plan or apply of "
        f"{name} runs, release it in {workdir} with\n"
        f"    cd {workdir} && {tofu_binary()} force-unlock {lock.id}\n"
        "and run again. This is safe only when no other run holds the lock: unlocking under a live apply "
        "lets two runs write the state at once, and the state loses the resources one of them created."
    )


# (pattern in OpenTofu's output, what the user should do). First match wins.
_KNOWN_CAUSES = (
    (
        re.compile(r"connect(ion)?: connection refused|dial tcp 127\.0\.0\.1:\d+", re.I),
        "the AWS emulator is not answering: start it (`bin/wh emulator`) and pass its URL",
    ),
    (
        re.compile(r"checksums recorded in the dependency lock file|locked provider .* does not match"),
        "the dependency lock file is stale for the providers in the mirror: rerun with --upgrade to re-lock",
    ),
    (
        re.compile(r"Failed to query available provider packages|could not find (a )?provider", re.I),
        f"a provider is missing from the filesystem mirror: run `{BUILD_COMMAND}`",
    ),
)


def killed(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    return (
        f"OpenTofu was killed (signal {-returncode}): a state lock it held in an S3 backend stays held; "
        "the next run names the lock and how to release it"
    )


def explain(output: str) -> str:
    flat = " ".join(output.split())  # OpenTofu wraps diagnostics at 78 columns
    for pattern, advice in _KNOWN_CAUSES:
        if pattern.search(flat):
            return advice
    return "see OpenTofu's output above"


@dataclass
class Result:
    returncode: int
    output: str
    seconds: float


@dataclass
class Tofu:
    """OpenTofu in `workdir` (a synthesized stack directory); `env` adds e.g. TF_VAR_aws_endpoint."""

    workdir: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    echo: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config()),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            **self.env,
        }

    def run(
        self, *args: str, ok: tuple[int, ...] = (0,), live: Callable[[str], bool] | None = None
    ) -> Result:
        """`live` picks the output lines passed to `echo` as they come (plan, apply); all are collected."""
        cmd = [str(tofu_binary()), *args]
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # our signal handler decides what reaches it
        )
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def forward(signum: int, frame: Any) -> None:
            proc.send_signal(signal.SIGINT)

        in_main_thread = _in_main_thread()
        if in_main_thread:
            for sig in previous:
                signal.signal(sig, forward)
        lines: list[str] = []
        reader = threading.Thread(target=self._collect, args=(proc, lines, live), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            raise TofuError(
                f"{self.name}: `tofu {args[0]}` took longer than {self.timeout:.0f}s and was stopped"
            ) from None
        finally:
            reader.join()
            if in_main_thread:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        result = Result(proc.returncode, "".join(lines), time.monotonic() - started)
        if proc.returncode != 0 and "Interrupt received" in result.output:
            raise KeyboardInterrupt(f"{self.name}: `tofu {args[0]}` interrupted; OpenTofu saved its state")
        if proc.returncode not in ok:
            lock = LockInfo.parse(result.output)
            if lock is not None:
                raise TofuError(lock_report(self.name, self.workdir, lock), result.output, lock)
            tail = "\n".join(result.output.strip().splitlines()[-OUTPUT_TAIL_LINES:])
            raise TofuError(
                f"{self.name}: `tofu {' '.join(args)}` failed (exit {proc.returncode}) in {self.workdir}:\n"
                f"{tail}\n-> {killed(proc.returncode) or explain(result.output)}",
                result.output,
            )
        return result

    def _collect(self, proc: subprocess.Popen, lines: list[str], live: Callable[[str], bool] | None) -> None:
        for line in proc.stdout:
            lines.append(line)
            if live is not None and live(line):
                self.echo(f"{self.name}: {line.rstrip()}")

    def init(self, *extra: str, upgrade: bool = False) -> Result:
        """`extra`: e.g. "-reconfigure", or "-migrate-state", "-force-copy" to move the state on."""
        return self.run("init", "-input=false", "-no-color", *extra, *(["-upgrade"] if upgrade else []))

    def plan(self, plan_file: Path, *extra: str) -> bool:
        """Write a saved plan; True when it would change anything (resources or outputs)."""
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={plan_file}", *extra]
        result = self.run(*args, ok=(0, 2), live=_plan_progress)
        return result.returncode == 2

    def apply(self, plan_file: Path) -> Result:
        return self.run("apply", "-input=false", "-no-color", "-auto-approve", str(plan_file), live=_any_line)

    def show_json(self, plan_file: Path | None = None) -> dict[str, Any]:
        """The saved plan as JSON, or the current state when no plan file is given."""
        args = ["show", "-json", "-no-color"] + ([str(plan_file)] if plan_file else [])
        return json.loads(self.run(*args).output)

    def state_resources(self) -> list[str]:
        return self.run("state", "list", "-no-color", ok=(0, 1)).output.split()


def _any_line(line: str) -> bool:
    return bool(line.strip())


# What a plan prints while it works (per-resource refresh/read lines) and its one-line summary; the
# resource diffs themselves stay in the saved plan (`wh plan` renders them for review).
_PLAN_PROGRESS = re.compile(
    r": (Refreshing state|Reading|Read complete)|^(Plan:|No changes\.|Changes to Outputs)"
)


def _plan_progress(line: str) -> bool:
    return bool(_PLAN_PROGRESS.search(line))


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
