"""A Flink job of app/flink/jobs.py for a bounded local run: started as `wh flink-job` starts it, stopped
once done.

    with BoundedJob(bootstrap_servers, workdir, job="news") as job:  # returns at its first checkpoint
        ... produce into the job's raw topic ...
        job.finish(timeout)

A streaming job never sees the end of its input. The market-data job emits its indicators in event-time
order only once the watermark passes them, so `finish` first appends an end-of-input marker to every raw
partition: a tick far enough ahead to move the watermark past all real input (it is held in the job's state
itself, never emitted); the news job scores each article as it comes and needs none. When a checkpoint
covers all raw input and one more completes, all output of it is in committed transactions; the job then
stops with a savepoint (committing anything later). The gateway JVM that hosts the mini-cluster is stopped
by its pid on exit, also when interrupted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson
from confluent_kafka import Producer

from app.flink import config
from app.flink.jobs import JOBS
from app.local import flink as local_flink
from app.local import flink_jobs
from app.sinks import offsets
from infra.process import ServiceError

START_TIMEOUT = 180.0
END_MARKER_SYMBOL = "WH:END-OF-INPUT"
EVENT_TIME_JOBS = ("market-data",)  # the jobs whose output waits for the watermark: they get end markers


class BoundedJob:
    def __init__(
        self,
        bootstrap_servers: str,
        workdir: Path,
        *,
        job: str = "market-data",
        topic_suffix: str = "",
        env: str = "local",
        overrides: dict[str, str] | None = None,
    ):
        """`overrides`: more Flink keys for the job's mini-cluster (e.g. its metric reporter)."""
        self.job, self.bootstrap_servers, self.topic_suffix = job, bootstrap_servers, topic_suffix
        self.overrides = overrides or {}
        self.settings = config.settings(env)
        # market-data keeps the layout of before (a run's workdir/checkpoints); other jobs nest by name
        root = workdir if job == "market-data" else workdir / job
        self.checkpoints, self.savepoints = root / "checkpoints", root / "savepoints"
        self.topics = JOBS[job].topics(topic_suffix)
        self.group = getattr(self.settings, job.replace("-", "_")).consumer_group + topic_suffix
        self.result = None
        self.pid: int | None = None
        self.finished = False

    def start(self, timeout: float = START_TIMEOUT) -> BoundedJob:
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.result = flink_jobs.submit(
            self.job,
            self.settings,
            self.bootstrap_servers,
            checkpoint_dir=self.checkpoints,
            topic_suffix=self.topic_suffix,
            restore=False,
            overrides=self.overrides,
        )
        self.pid = local_flink.gateway_pid()
        # A completed checkpoint means every source is assigned and reading: input produced from now on
        # is measured by the pipeline, not by the job's start-up.
        self._wait("its first checkpoint", lambda: self.last_checkpoint() > 0, timeout)
        return self

    @property
    def job_id(self) -> str:
        return str(self.result.get_job_client().get_job_id())

    def caught_up(self) -> bool:
        """True when the job's consumer group has committed (on a checkpoint) the end of the raw topic."""
        return offsets.group_caught_up(self.bootstrap_servers, self.group, self.topics["raw_topic"])

    def mark_end_of_input(self) -> None:
        """One marker tick per raw partition, ahead of all input by more than the watermark's delay."""
        ahead = self.settings.market_data.out_of_orderness + 1000
        value = orjson.dumps(
            {
                "type": "tick",
                "symbol": END_MARKER_SYMBOL,
                "timestamp": int(time.time() * 1000) + ahead,
                "price": 1.0,
                "volume": 0,
                "source": "wh-pipeline",
            }
        )
        producer = Producer({"bootstrap.servers": self.bootstrap_servers, "enable.idempotence": True})
        raw = self.topics["raw_topic"]
        for tp in offsets.partitions(producer, raw):
            producer.produce(raw, value=value, key=END_MARKER_SYMBOL.encode(), partition=tp.partition)
        if producer.flush(30):
            raise ServiceError(f"end-of-input markers not delivered to {raw}")

    def last_checkpoint(self) -> int:
        """The id of the newest completed checkpoint (0: none yet)."""
        done = self.checkpoints.glob("*/chk-*/_metadata")
        return max((int(meta.parent.name.removeprefix("chk-")) for meta in done), default=0)

    def finish(self, timeout: float) -> str:
        """Mark the end of input, wait until the job's output of it is committed, stop with a savepoint;
        returns the savepoint's path."""
        if self.job in EVENT_TIME_JOBS:
            self.mark_end_of_input()
        self._wait("a checkpoint covering all of the raw topic", self.caught_up, timeout)
        covering = self.last_checkpoint()
        self._wait("a checkpoint after the end of input", lambda: self.last_checkpoint() > covering, timeout)
        client = self.result.get_job_client()
        # Bounded by the checkpoint timeout of jobs.yaml: a savepoint is a checkpoint.
        savepoint = client.stop_with_savepoint(False, self.savepoints.resolve().as_uri()).result()
        self.result.wait(int(timeout * 1000))
        self.finished = True
        return savepoint

    def _wait(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            status = self.result.get_job_client().get_job_status().result().name
            if status in ("FAILED", "CANCELED", "FINISHED"):
                raise ServiceError(f"the {self.job} Flink job is {status} while waiting for {what}")
            if time.monotonic() > deadline:
                raise ServiceError(f"the {self.job} Flink job reached no {what} within {timeout:.0f}s")
            time.sleep(0.5)

    def stop(self) -> None:
        """Cancel the job if it still runs, and stop the gateway JVM (with the mini-cluster) by its pid."""
        try:
            if self.result is not None and not self.finished:
                client = self.result.get_job_client()
                if client.get_job_status().result().name in ("RUNNING", "CREATED", "INITIALIZING"):
                    client.cancel().result()
        except Exception as exc:  # the gateway may already be gone (interrupted); stop it regardless
            print(f"{self.job}: cancelling the job: {exc}", file=sys.stderr)
        finally:
            local_flink.shutdown()

    def __enter__(self) -> BoundedJob:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
