"""Loaders in one consumer group, on the session's broker and PostgreSQL and an AWS emulator: they split the
topic's partitions, and a rebalance mid-load (a loader joining, another leaving) loses no record and stores
none twice, in the table or the lake."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient

from app.sinks import offsets
from app.sinks.lake import LakeWriter
from app.sinks.timescale import LoadStats, TableLoader
from tests.app.sinks.loading import Loading, lake_rows, once_each, table_rows, trades, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


class Running:
    """A loader's run in a thread of its own; `finish()` sets its stop and returns its stats."""

    def __init__(self, loader: TableLoader) -> None:
        self.loader, self.stop, self._outcome = loader, threading.Event(), {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome["stats"] = self.loader.run(self.stop)
        except Exception as exc:  # raised in the test's thread by finish()
            self._outcome["error"] = exc

    def finish(self, timeout: float = 120.0) -> LoadStats:
        self.stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.loader.cancel()
            self._thread.join(30)
            pytest.fail(f"the loader did not finish in {timeout:.0f}s ({self.loader.stats.consumed} read)")
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["stats"]


class Producing:
    """Trades produced in chunks round the topic's partitions, in a thread, until `stop()` or `most`."""

    def __init__(self, loading: Loading, chunk: int = 1000, most: int = 40_000) -> None:
        self.records: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(loading, chunk, most), daemon=True)
        self._thread.start()

    def _produce(self, loading: Loading, chunk: int, most: int) -> None:
        while not self._stop.is_set() and len(self.records) < most:
            records = trades(len(self.records), chunk)
            loading.produce(records, spread=True)
            self.records += records

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(60)
        assert not self._thread.is_alive()
        return self.records


def assignments(loading: Loading) -> list[set[int]]:
    """The partitions of each member of the loaders' group, as its coordinator has them (none unless the
    group is stable, or while its coordinator does not answer)."""
    admin = AdminClient({"bootstrap.servers": loading.bootstrap})
    (described,) = admin.describe_consumer_groups([loading.group], request_timeout=5).values()
    try:
        group = described.result()
    except KafkaException:
        return []
    if group.state != ConsumerGroupState.STABLE:
        return []
    return [{tp.partition for tp in member.assignment.topic_partitions} for member in group.members]


def split_in_two(loading: Loading) -> bool:
    members = assignments(loading)
    return len(members) == 2 and all(members)


def test_two_loaders_in_one_group_split_the_partitions_and_load_every_record_once(kafka_broker, postgres):
    loading = Loading(kafka_broker, postgres)
    loaded: list[set[int]] = [set(), set()]  # the partitions each loader stored records of
    running = [
        Running(loading.loader(on_rows=lambda batch, seen=seen: seen.update(p for p, _ in batch.positions)))
        for seen in loaded
    ]
    wait_for(lambda: split_in_two(loading), "group of two loaders with partitions each", 60)
    records = trades(0, 12_000)

    loading.produce(records, spread=True)
    for run in running:
        run.stop.set()  # each reads its partitions to their ends
    stats = [run.finish() for run in running]

    assert loaded[0] and loaded[1] and not loaded[0] & loaded[1]
    assert loaded[0] | loaded[1] == set(range(loading.topic.partitions))
    assert sum(s.consumed for s in stats) == len(records)  # no record read by both
    assert table_rows(loading.dsn) == once_each(records)
    assert offsets.group_caught_up(loading.bootstrap, loading.group, loading.topic.name)


def test_a_rebalance_mid_load_loses_nothing_and_reads_nothing_twice(kafka_broker, postgres, lake):
    s3, bucket = lake
    loading = Loading(kafka_broker, postgres)

    seen: list[set[int]] = [set(), set()]  # the partitions each loader stored records of

    def start(n: int) -> Running:
        writer = LakeWriter(s3, bucket)

        def on_rows(batch) -> None:
            writer.add(batch)
            seen[n].update(p for p, _ in batch.positions)

        options = {"batch_size": 500, "flush_every": 2000, "on_rows": on_rows, "on_flush": writer.flush}
        return Running(loading.loader(**options))

    first = start(0)
    producing = Producing(loading)
    wait_for(lambda: first.loader.stats.inserted > 0, "first rows loaded", 60)
    second = start(1)  # joins while the first loads: the first commits what it read and gives half up
    wait_for(lambda: second.loader.stats.inserted > 0, "rows loaded by the second loader", 60)
    stats = [first.finish()]  # leaves mid-load, its partitions read to their ends as of now and committed
    records = producing.stop()
    more = trades(len(records), 3000)
    loading.produce(more, spread=True)
    everywhere = set(range(loading.topic.partitions))
    wait_for(lambda: seen[1] == everywhere, "records of the first loader's partitions in the second", 60)

    stats.append(second.finish())  # the group's one loader now: it reads every partition to its end

    assert 0 < stats[0].consumed < len(records)
    # each hand-over committed exactly what was read: no record read twice, none skipped
    assert [s.duplicates for s in stats] == [0, 0]
    assert sum(s.consumed for s in stats) == len(records + more)
    assert table_rows(loading.dsn) == once_each(records + more)
    assert lake_rows(s3, bucket) == once_each(records + more)
    assert offsets.group_caught_up(loading.bootstrap, loading.group, loading.topic.name)
