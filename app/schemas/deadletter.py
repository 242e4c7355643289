"""The dead-letter envelope: what a rejected record becomes, for every pipeline.

The value is JSON {reason, source, topic, received_at, raw_bytes, raw_sha256, raw, raw_truncated}; the
reason and source are also Kafka headers, so a consumer can filter without parsing. `raw` keeps at most
RAW_LIMIT bytes of the original payload, decoded with replacement characters, so a 10 MB or binary
message still fits the dead-letter topic; the hash identifies the original.
"""

from __future__ import annotations

import hashlib
import time

import orjson

RAW_LIMIT = 16 * 1024
REASON_LIMIT = 500


def envelope(
    reason: str, source: str, topic: str, raw: bytes | str | object
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(value, headers) for the dead-letter topic. `raw` may be bytes, text, or an already-parsed object."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    elif not isinstance(raw, bytes | bytearray | memoryview):
        raw = orjson.dumps(raw, default=repr, option=orjson.OPT_SERIALIZE_NUMPY)
    raw = bytes(raw)
    reason = reason[:REASON_LIMIT]
    value = orjson.dumps(
        {
            "reason": reason,
            "source": source,
            "topic": topic,
            "received_at": int(time.time() * 1000),
            "raw_bytes": len(raw),
            "raw_sha256": hashlib.sha256(raw).hexdigest(),
            "raw": raw[:RAW_LIMIT].decode("utf-8", "replace"),
            "raw_truncated": len(raw) > RAW_LIMIT,
        }
    )
    headers = [
        ("dlq.reason", reason.encode()),
        ("dlq.source", source.encode()),
        ("dlq.topic", topic.encode()),
    ]
    return value, headers
