"""Paths (a.b[0].c) at which two JSON values differ: what drift names, both for a plan's attributes and for
the objects inside a Helm release."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def every_key(before: dict[str, Any], after: dict[str, Any]) -> Iterable[str]:
    return sorted(set(before) | set(after))


def changed_paths(
    before: Any,
    after: Any,
    prefix: str = "",
    keys: Callable[[dict[str, Any], dict[str, Any]], Iterable[str]] = every_key,
) -> list[str]:
    """The paths whose values differ, walking the keys `keys` picks of two objects and lists of one
    length; anything else differs as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in keys(before, after):
            sub = f"{prefix}.{key}" if prefix else key
            paths += changed_paths(before.get(key), after.get(key), sub, keys)
        return paths
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        paths = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            paths += changed_paths(b, a, f"{prefix}[{index}]", keys)
        return paths
    return [] if before == after else [prefix]
