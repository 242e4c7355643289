"""A managed subprocess (a local service, the AWS emulator): log file, readiness probe, stop by its own pid.

A `ManagedProcess` never outlives its owner: it stops on context exit, at interpreter exit (atexit), and
the kernel sends it SIGTERM if the Python process dies without cleaning up (PR_SET_PDEATHSIG, Linux).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

LOG_TAIL_LINES = 20
OWNER_FILE = "owner.pid"
_PR_SET_PDEATHSIG = 1
_live: set[ManagedProcess] = set()


class ServiceError(RuntimeError):
    """A local service could not start or answer; the message names the part and the fix."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_free_port(port: int, part: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ServiceError(
                f"{part}: port 127.0.0.1:{port} is already in use: "
                "stop what listens there or let it pick a free port"
            ) from None
    return port


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """One service process. `start()` then `wait_ready(probe)`; `stop()` is idempotent.

    stop_signal: what asks the service to shut down cleanly (PostgreSQL wants SIGINT for a fast shutdown);
    after `grace` seconds it is killed.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        grace: float = 15.0,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.grace = grace
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> ManagedProcess:
        if self.proc is not None:
            raise ServiceError(f"{self.name} is already started (pid {self.proc.pid})")
        with self.log_path.open("ab") as log:
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    user=self.user,
                    start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
            except FileNotFoundError:
                raise ServiceError(f"{self.name}: {self.argv[0]} not found") from None
        _live.add(self)
        return self

    def failure(self, why: str) -> ServiceError:
        return ServiceError(f"{self.name} {why}; last lines of {self.log_path}:\n{log_tail(self.log_path)}")

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.25) -> None:
        """Poll `probe` until it returns True; stop the process and raise if it dies or times out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = self.proc.returncode if self.proc else None
                self.stop()
                raise self.failure(f"exited with code {code} before it was ready")
            if probe():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise self.failure(f"did not become ready within {timeout:.0f}s")
            time.sleep(interval)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        _live.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(self.grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL the process and everything in its process group (a crash: nothing is shut down)."""
        proc, self.proc = self.proc, None
        _live.discard(self)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGKILL)  # its own group (start_new_session): its children too
        proc.wait()

    def __enter__(self) -> ManagedProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    for process in list(_live):
        process.stop()


def pid_alive(pid: int) -> bool:
    """True while `pid` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def service_workdir(prefix: str) -> Path:
    """A fresh temp dir for one service run, tagged with our pid.

    Dirs with this prefix whose owner is gone (a run killed with SIGKILL cannot clean up) are removed first.
    """
    for old in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = int((old / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not tagged: someone else's, or still being created
        if not pid_alive(owner):
            shutil.rmtree(old, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    (directory / OWNER_FILE).write_text(str(os.getpid()))
    return directory


class LocalService:
    """A service run as one ManagedProcess with its data in a temp workdir; subclasses define `start()`,
    and `_launch()`, which starts the process on the existing data (used by `restart()` after `kill()`)."""

    def __init__(self, port: int | None) -> None:
        self.port = port
        self.workdir: Path | None = None
        self.process: ManagedProcess | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _launch(self) -> ManagedProcess:
        raise NotImplementedError

    def kill(self) -> None:
        """SIGKILL the service (a crash), keeping its data and port for `restart()`."""
        if self.process is not None:
            self.process.kill()
            self.process = None

    def restart(self) -> None:
        """Start the service again on the data and port it had, after `kill()`; returns once it answers."""
        if self.process is not None or self.workdir is None:
            raise ServiceError(f"{type(self).__name__}: restart() is for a killed service")
        self.process = self._launch()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
