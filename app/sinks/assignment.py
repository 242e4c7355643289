"""The partitions of its topic a loader owns in its consumer group, and the next offset it reads of each.

The group's members split the topic's partitions (the default eager protocol: a rebalance revokes every
partition, then assigns anew). On assignment each partition starts at the group's committed offset,
fetched with retries (offsets.group_start); on revocation `release` runs first, while the partitions are
still owned, so what was read is stored and committed before the next owner starts there. Partitions lost
(the session expired) are only marked `lost`: their next owner has already started at the last commit.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer

from app.sinks import offsets


class Assignment:
    def __init__(self, consumer: Consumer, topic: str, release: Callable[[], None]) -> None:
        self.consumer, self._release = consumer, release
        self.next: dict[int, int] = {}  # partition -> the offset to read next; replaced, never resized
        self.lost = False
        consumer.subscribe([topic], on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost)

    def kept(self, messages: list) -> list:
        """The messages to handle: a consume() that served a rebalance can still return records read
        before it, of partitions revoked or assigned again from an earlier offset; those are dropped."""
        kept = []
        for msg in messages:
            if not msg.error():
                next_offset = self.next.get(msg.partition())
                if next_offset is None or msg.offset() < next_offset:
                    continue
                self.next[msg.partition()] = msg.offset() + 1
            kept.append(msg)
        return kept

    def positions(self) -> dict[int, int]:
        """Partition -> how far it is read: librdkafka's position (past transaction markers too), or where
        it starts while nothing of it was read."""
        read = {tp.partition: tp.offset for tp in self.consumer.position(self.consumer.assignment())}
        return {p: max(read.get(p, -1), start) for p, start in self.next.items()}

    def _assigned(self, consumer: Consumer, partitions: list) -> None:
        start = offsets.group_start(consumer, partitions)
        consumer.assign(start)
        self.next = {tp.partition: max(tp.offset, 0) for tp in start}

    def _revoked(self, consumer: Consumer, partitions: list) -> None:
        self._release()
        self._drop(partitions)

    def _lost(self, consumer: Consumer, partitions: list) -> None:
        self.lost = True
        self._drop(partitions)

    def _drop(self, partitions: list) -> None:
        gone = {tp.partition for tp in partitions}
        self.next = {p: offset for p, offset in self.next.items() if p not in gone}

    def __enter__(self) -> Assignment:
        return self

    def __exit__(self, *exc) -> None:
        self._release = lambda: None  # the run has committed all it will: close() revokes, releasing nothing
