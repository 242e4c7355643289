"""What a process and its descendants use, summed from /proc: resident memory and CPU time."""

from __future__ import annotations

import os

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stats() -> tuple[dict[int, list[int]], dict[int, list[bytes]]]:
    """(parent pid -> child pids, pid -> its /proc/<pid>/stat fields after the command name)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[bytes]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1] is the parent pid
        stats[pid] = fields
    return children, stats


def _tree(root: int) -> tuple[list[int], dict[int, list[bytes]]]:
    children, stats = _stats()
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, []))
    return [pid for pid in pids if pid in stats], stats


def rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants."""
    pids, stats = _tree(root)
    return sum(int(stats[pid][21]) * PAGE_KB for pid in pids)  # resident pages


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) of `root` and its descendants, with that of the children they have waited
    for (a PostgreSQL backend's, once its connection closed)."""
    pids, stats = _tree(root)
    return sum(sum(int(v) for v in stats[pid][11:15]) for pid in pids) / CLOCK_TICKS  # utime..cstime
