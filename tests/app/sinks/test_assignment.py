"""A consume() that served a rebalance can return records read before it: the loader keeps only those of
partitions it owns, from where it reads each next."""

from __future__ import annotations

from app.sinks.assignment import Assignment


class _Record:
    def __init__(self, partition: int, offset: int) -> None:
        self._at = partition, offset

    def error(self) -> None:
        return None

    def partition(self) -> int:
        return self._at[0]

    def offset(self) -> int:
        return self._at[1]


class _Subscribing:
    def subscribe(self, topics, **callbacks) -> None:
        self.callbacks = callbacks


def test_records_read_before_a_rebalance_of_partitions_revoked_or_assigned_again_are_dropped():
    assignment = Assignment(_Subscribing(), "t", release=lambda: None)
    assignment.next = {0: 10, 1: 5}  # partition 2 revoked; 0 assigned again at its commit, 10

    kept = assignment.kept([_Record(0, 8), _Record(0, 10), _Record(1, 5), _Record(2, 3), _Record(0, 9)])

    assert [(r.partition(), r.offset()) for r in kept] == [(0, 10), (1, 5)]
    assert assignment.next == {0: 11, 1: 6}
