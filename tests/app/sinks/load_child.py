"""The loader and the lake writer to the end of the topic, in a process of its own: what the kill tests kill.

python -m tests.app.sinks.load_child BOOTSTRAP DSN TOPIC_SUFFIX GROUP S3_ENDPOINT BUCKET BATCH_SIZE
"""

from __future__ import annotations

import sys
import threading

from app.sinks.lake import LakeWriter
from infra.emulator.aws import client
from tests.app.sinks.loading import loader


def main(bootstrap: str, dsn: str, suffix: str, group: str, endpoint: str, bucket: str, batch: str) -> None:
    lake = LakeWriter(client(endpoint, "s3"), bucket)
    stop = threading.Event()
    stop.set()  # read what is there, then return
    options = {"batch_size": int(batch), "on_rows": lake.add, "on_flush": lake.flush}
    loader(bootstrap, dsn, suffix, group, **options).run(stop)


if __name__ == "__main__":
    main(*sys.argv[1:])
