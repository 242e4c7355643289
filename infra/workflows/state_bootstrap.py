"""The first deploy of a state stack whose S3 backend is the bucket it creates itself.

Before that bucket exists OpenTofu cannot init the stack's backend. So the stack is applied with local
state (an override file turns its backend into a local one, `bootstrap.tfstate` in its directory), and then
`init -migrate-state -force-copy` moves that state into the bucket it just created. A bootstrap cut short
leaves `bootstrap.tfstate` behind, and the next deploy resumes from it instead of starting over.
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
        local = {"terraform": {"backend": {"local": {"path": LOCAL_STATE}}}}
        self.override.write_text(json.dumps(local, indent=2), encoding="utf-8")
        tofu.init("-reconfigure", upgrade=upgrade)

    def finish(self, tofu: Tofu) -> None:
        """Move the applied local state into the bucket, then drop the local copy."""
        self.override.unlink()
        tofu.init("-migrate-state", "-force-copy")
        for leftover in (self.local_state, self.local_state.with_name(LOCAL_STATE + ".backup")):
            leftover.unlink(missing_ok=True)
        say(f"{self.stack.name}: state migrated into s3://{self.bucket}")


def bootstrap_needed(stack: Stack, target: AwsTarget) -> Bootstrap | None:
    """A Bootstrap when `stack` is the state stack and its S3 bucket does not exist yet, or an earlier
    bootstrap of it stopped before its migration; None when the stack's backend is ready. Any other stack
    whose bucket is missing is refused: the state stack comes first."""
    config = json.loads(stack.config.read_text(encoding="utf-8"))
    s3 = config.get("terraform", {}).get("backend", {}).get("s3")
    if s3 is None:
        return None
    bootstrap = Bootstrap(stack, s3["bucket"])
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
