"""Kill tests: the loader SIGKILLed mid-COPY, the lake writer SIGKILLed mid-upload, then restarted: the
database and the lake (moto) each hold every input exactly once. The loader runs in a child process
(tests/app/sinks/load_child.py) killed by its pid; the broker and PostgreSQL are the session's."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading

import psycopg
import pytest

from app.schemas.tables import TICKS
from tests import REPO
from tests.app.sinks.loading import Loading, lake_rows, once_each, table_rows, trades, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
LAKE_PUT = re.compile(rb"PUT /[^/ ]+/market-data/")


def start_loader(loading: Loading, endpoint: str, bucket: str, batch: int) -> subprocess.Popen:
    args = [loading.bootstrap, loading.dsn, loading.suffix, loading.group, endpoint, bucket, str(batch)]
    return subprocess.Popen([sys.executable, "-m", "tests.app.sinks.load_child", *args], cwd=REPO)


def finish(child: subprocess.Popen) -> None:
    try:
        assert child.wait(timeout=180) == 0
    finally:
        child.kill()


def test_loader_killed_mid_copy_then_restarted_loads_every_trade_once(kafka_broker, postgres, lake):
    s3, bucket = lake
    loading = Loading(kafka_broker, postgres)
    records = trades(0, 40_000)
    loading.produce(records)
    child = start_loader(loading, s3.meta.endpoint_url, bucket, 40_000)
    watching = psycopg.connect(loading.dsn, autocommit=True)
    copying = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
        f" AND query LIKE 'COPY {TICKS.name} %%' AND pid <> pg_backend_pid()"
    )
    try:
        wait_for(lambda: watching.execute(copying).fetchone()[0] > 0 or child.poll() is not None, "COPY")
        assert child.poll() is None, "the loader finished before it was caught in a COPY"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        wait_for(lambda: watching.execute(copying).fetchone()[0] == 0, "end of the killed COPY")
    finally:
        child.kill()
        watching.close()
    assert sum(table_rows(loading.dsn).values()) < len(records)

    finish(start_loader(loading, s3.meta.endpoint_url, bucket, 2000))

    assert table_rows(loading.dsn) == once_each(records)
    assert lake_rows(s3, bucket) == once_each(records)


class KillingProxy:
    """A TCP relay to `upstream_port` that SIGKILLs `victim` once it has passed on half the body of the
    `nth` lake PUT, then cuts both connections: the server gets a request that ends mid-body."""

    def __init__(self, upstream_port: int, nth: int) -> None:
        self.upstream_port, self.nth = upstream_port, nth
        self.victim: int | None = None
        self.killed = threading.Event()
        self._puts, self._lock = 0, threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._relay, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        budget = None  # bytes of the doomed request still to pass on
        try:
            while data := client.recv(65536):
                if budget is None and LAKE_PUT.match(data):
                    with self._lock:
                        self._puts += 1
                        doomed = self._puts == self.nth
                    if doomed:
                        length = int(re.search(rb"(?i)content-length: *(\d+)", data)[1])
                        budget = data.index(b"\r\n\r\n") + 4 + length // 2
                if budget is None:
                    upstream.sendall(data)
                    continue
                upstream.sendall(data[:budget])
                budget -= min(budget, len(data))
                if budget == 0:
                    os.kill(self.victim, signal.SIGKILL)
                    self.killed.set()
                    return
        except OSError:
            pass
        finally:
            if budget is not None:
                upstream.close()
                client.close()


def test_lake_writer_killed_mid_upload_then_restarted_writes_every_trade_once(kafka_broker, postgres, lake):
    s3, bucket = lake
    loading = Loading(kafka_broker, postgres)
    before, after = trades(0, 3000), trades(3000, 3000)
    loading.produce(before)
    proxy = KillingProxy(int(s3.meta.endpoint_url.rsplit(":", 1)[1]), nth=2)
    try:
        child = start_loader(loading, f"http://127.0.0.1:{proxy.port}", bucket, 2000)
        proxy.victim = child.pid
        try:
            assert child.wait(timeout=180) == -signal.SIGKILL
        finally:
            child.kill()
        assert proxy.killed.is_set()
    finally:
        proxy.close()
    crashed = lake_rows(s3, bucket)  # one whole object; nothing of the second
    assert len(s3.list_objects_v2(Bucket=bucket)["Contents"]) == 1
    assert set(crashed.values()) == {1} and set(crashed) < set(once_each(before))
    loading.produce(after)  # the restart reads further than the crashed run: its objects hold more

    finish(start_loader(loading, s3.meta.endpoint_url, bucket, 2000))

    assert lake_rows(s3, bucket) == once_each(before + after)
    assert table_rows(loading.dsn) == once_each(before + after)
