"""A loader started right after its broker reads its topic. While a broker that has just come up loads its
group coordinator, librdkafka's own committed-offset fetch (assign() without offsets) can fail with "Not
coordinator" and leave the partitions unread with no error: benchmarks/sink_bench.py stalled at 0 rows
that way. The loader fetches the group's offsets itself (app/sinks/offsets.group_start)."""

from __future__ import annotations

import threading
import time

import pytest

from app.local.kafka import KafkaBroker
from tests.app.sinks.loading import Loading, processed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
RECORDS = 2000


def test_a_loader_started_with_its_broker_loads_the_whole_topic(postgres):
    with KafkaBroker() as broker:  # its own: the session's broker has long loaded its coordinators
        loading = Loading(broker, postgres)
        now = int(time.time() * 1000)
        loading.produce([processed(f"S{i % 20}", now - RECORDS + i, 10.0 + i % 7) for i in range(RECORDS)])
        loader = loading.loader()
        stop, done = threading.Event(), {}
        stop.set()  # read to the topic's end, then return
        thread = threading.Thread(target=lambda: done.update(stats=loader.run(stop)), daemon=True)
        thread.start()
        thread.join(90)
        if thread.is_alive():
            loader.cancel()
            thread.join(30)
            pytest.fail(f"the loader read {loader.stats.consumed} of {RECORDS} records in 90 s")
    assert done["stats"].inserted == RECORDS
    assert len(loading.rows()) == RECORDS
