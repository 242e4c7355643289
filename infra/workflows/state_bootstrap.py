"""The state stack, whose S3 backend is the bucket it creates itself: its first deploy and its destroy.

Before that bucket exists OpenTofu cannot init the stack's backend. So the stack is applied with local
state (an override file turns its backend into a local one, `bootstrap.tfstate` in its directory), and then
`init -migrate-state -force-copy` moves that state into the bucket it just created. A bootstrap cut short
leaves `bootstrap.tfstate` behind, and the next deploy resumes from it instead of starting over.

Its destroy runs the other way: the state moves out of the bucket into `bootstrap.tfstate` first (the
destroy deletes the bucket it would otherwise write to), and the local copy goes only once the destroy
succeeded; a teardown cut short resumes from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infra.tofu.runner import Tofu

from .stackset import AwsTarget, Refused, Stack, say

OVERRIDE_FILE = "bootstrap_override.tf.json"  # OpenTofu merges *_override.tf.json over the configuration
LOCAL_STATE = "bootstrap.tfstate"
STATE_LAYER = "state"  # the stack that creates the bucket and lock table of every S3 backend


@dataclass(frozen=True)
class Bootstrap:
    stack: Stack
    bucket: str

    @property
    def local_state(self) -> Path:
        return self.stack.workdir / LOCAL_STATE

    @property
    def override(self) -> Path:
        return self.stack.workdir / OVERRIDE_FILE

    def start(self, tofu: Tofu, *, upgrade: bool = False) -> None:
        """Init the stack on local state (resuming an earlier bootstrap's)."""
        resumed = " (resuming the state an interrupted bootstrap left)" if self.local_state.exists() else ""
        say(
            f"{self.stack.name}: its state bucket {self.bucket} does not exist yet: applying with local "
            f"state in {self.local_state}{resumed}, then migrating that state into the bucket"
        )
        self._use_local_state(tofu, "-reconfigure", upgrade=upgrade)

    def leave_bucket(self, tofu: Tofu) -> None:
        """Before destroying the stack: move its state out of the bucket the destroy deletes (or resume the
        local state an earlier destroy left)."""
        if self.local_state.exists():
            say(f"{self.stack.name}: resuming the destroy an earlier teardown left in {self.local_state}")
            self._use_local_state(tofu, "-reconfigure")
            return
        tofu.init("-reconfigure")  # on the bucket: what it holds is what moves
        say(f"{self.stack.name}: moving its state out of s3://{self.bucket} into {self.local_state}")
        self._use_local_state(tofu, "-migrate-state", "-force-copy")

    def destroyed(self) -> None:
        """The destroy succeeded: no state is left to keep."""
        for leftover in (self.override, *self._local_files()):
            leftover.unlink(missing_ok=True)

    def _use_local_state(self, tofu: Tofu, *init_args: str, upgrade: bool = False) -> None:
        local = {"terraform": {"backend": {"local": {"path": LOCAL_STATE}}}}
        self.override.write_text(json.dumps(local, indent=2), encoding="utf-8")
        tofu.init(*init_args, upgrade=upgrade)

    def _local_files(self) -> tuple[Path, Path]:
        return self.local_state, self.local_state.with_name(LOCAL_STATE + ".backup")

    def finish(self, tofu: Tofu) -> None:
        """Move the applied local state into the bucket, then drop the local copy."""
        self.override.unlink()
        tofu.init("-migrate-state", "-force-copy")
        for leftover in self._local_files():
            leftover.unlink(missing_ok=True)
        say(f"{self.stack.name}: state migrated into s3://{self.bucket}")


def bootstrap_needed(stack: Stack, target: AwsTarget) -> Bootstrap | None:
    """A Bootstrap when `stack` is the state stack and its S3 bucket does not exist yet, or an earlier
    bootstrap of it stopped before its migration; None when the stack's backend is ready. Any other stack
    whose bucket is missing is refused: the state stack comes first."""
    bucket = state_bucket(stack)
    if bucket is None:
        return None
    bootstrap = Bootstrap(stack, bucket)
    if stack.layer == STATE_LAYER and bootstrap.local_state.exists():
        return bootstrap
    if _bucket_exists(target, bootstrap.bucket):
        return None
    if stack.layer == STATE_LAYER:
        return bootstrap
    raise Refused(
        f"{stack.name}: its state bucket {bootstrap.bucket} does not exist yet: deploy the state stack first "
        f"(`wh deploy {target.cfg.name} --stacks {STATE_LAYER}`)"
    )


def init_for_destroy(stack: Stack, target: AwsTarget, tofu: Tofu) -> Bootstrap | bool:
    """Init `stack` to destroy it. False (said): it has no state, as its S3 backend's bucket is gone; the
    state stack's Bootstrap, its state moved out of its bucket (call `destroyed()` once the destroy
    succeeded); else True."""
    bucket = state_bucket(stack)
    if bucket is None:
        tofu.init()
        return True
    bootstrap = Bootstrap(stack, bucket)
    resuming = stack.layer == STATE_LAYER and bootstrap.local_state.exists()
    if not resuming and not _bucket_exists(target, bucket):
        say(f"{stack.name}: nothing deployed (its state bucket {bucket} does not exist)")
        return False
    if stack.layer == STATE_LAYER:
        bootstrap.leave_bucket(tofu)
        return bootstrap
    tofu.init()
    return True


def state_bucket(stack: Stack) -> str | None:
    """The bucket of the stack's S3 backend; None for local state."""
    config = json.loads(stack.config.read_text(encoding="utf-8"))
    s3 = config.get("terraform", {}).get("backend", {}).get("s3")
    return None if s3 is None else s3["bucket"]


def _bucket_exists(target: AwsTarget, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        target.client("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return False
        raise Refused(
            f"cannot use state bucket {bucket}: HeadBucket answered {status} (403: the name belongs to "
            "another account, or these credentials may not read it)"
        ) from None
    return True
