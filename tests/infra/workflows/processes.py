"""Watching the OpenTofu processes a workflow under test starts: a bounded wait, its child processes, the
state lock they hold in an S3 backend's DynamoDB table."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling interval of a bounded wait on another process
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def lock_holder(dynamodb, table: str, lock_id: str) -> dict | None:
    """The lock's Info (ID, Who, Operation, Created, ...) as OpenTofu wrote it, or None when not held."""
    item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": lock_id}})
    return json.loads(item["Item"]["Info"]["S"]) if "Item" in item else None


def tofu_holding_lock(worker: threading.Thread, subcommand: str, holder, outcome: object) -> int | None:
    """The pid of our child `tofu <subcommand>` once `holder()` says that operation holds the lock; None
    until then. `worker` (the thread running the workflow) must still be alive; `outcome` is what it
    left, shown when it is not."""
    assert worker.is_alive(), (
        f"the workflow ended before its {subcommand} was caught holding the lock: {outcome}"
    )
    pids = [p for p in children(os.getpid()) if f" {subcommand} " in cmdline(p)]
    lock = holder()
    operation = f"OperationType{subcommand.title()}"
    return pids[0] if pids and lock and lock["Operation"] == operation else None
