"""The generic Server-Sent Events adapter: a vendor that streams over SSE (IEX Cloud's streaming endpoints,
iexcloud.io/documentation/using-core-data/streaming-data-using-sse.html) as a sources.yaml entry.

SSE is its own protocol, hence code: one long GET answered `text/event-stream`, events framed as `data:`
lines ended by a blank line, `id:` and `retry:` fields, reconnection sending `Last-Event-ID`
(html.spec.whatwg.org/multipage/server-sent-events.html). Each event's data is a JSON message, read as the
WebSocket adapter reads one (`where`, `records`, `mapping`).

A vendor may open every connection with a snapshot of the latest message (IEX does): with `latest`, the
connector keeps the newest `latest.field` (epoch ms) per `latest.key` and drops (and counts) a record at or
before it, so a reconnect or a restart re-sends nothing. The newest values are the cursor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from pydantic import BaseModel, ConfigDict

from app.catalog import duration_ms
from app.connectors.http import refused_handshake, where
from app.connectors.producer import MAX_RECORD_BYTES, Rejected
from app.connectors.retry import Backoff
from app.connectors.runtime import Batch, Source
from app.connectors.websocket import StreamOptions, message_records

log = logging.getLogger(__name__)
# A line longer than this is dead-lettered by its size (its start kept) and the rest of it skipped.
MAX_LINE_BYTES = 4 * MAX_RECORD_BYTES


class Latest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str  # mapped epoch-ms field that grows per key (timestamp)
    key: str  # mapped field the snapshot repeats per value of (symbol)


class SseOptions(StreamOptions):
    params: dict[str, str | int] = {}
    headers: dict[str, str] = {}  # fixed request headers; never secrets
    latest: Latest | None = None
    idle_timeout: str = "5m"  # no byte for this long (not even a comment): reconnect


class _Events:
    """The SSE event parser (WHATWG "interpreting an event stream"): lines in, (id, data) out."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        self._data: list[str] = []

    def line(self, text: str) -> str | None:
        """Feed one line (without its end); returns the data of a completed event, if this line ends one."""
        if text == "":
            data, self._data = "\n".join(self._data), []
            return data or None
        if text.startswith(":"):
            return None  # a comment: keep-alive
        name, _, value = text.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


class SseSource(Source):
    Options = SseOptions
    commit_interval = 1.0

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        o = self.options
        newest: dict[str, int] = dict((cursor or {}).get("latest", {}))
        events = _Events()
        auth_params, auth_headers = self.ctx.credentials()
        idle = duration_ms(o.idle_timeout) / 1000
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=idle)
        backoff, attempt = Backoff(base=0.5, cap=30.0), 0
        while True:
            retry_after = None
            headers = {"Accept": "text/event-stream", **o.headers, **auth_headers}
            if events.last_id is not None:
                headers["Last-Event-ID"] = events.last_id
            try:
                if self.ctx.limiter:
                    await self.ctx.limiter.acquire()
                async with self.ctx.session.get(
                    o.url, params={**o.params, **auth_params}, headers=headers, timeout=timeout
                ) as response:
                    if response.status != 200:
                        body = await response.read()
                        retry_after = refused_handshake(
                            self.name, o.url, response.status, response.headers, body, self.ctx.config.auth
                        )
                        raise ConnectionError(f"HTTP {response.status}")
                    attempt = 0
                    async for line in _lines(response.content):
                        if isinstance(line, Rejected):
                            yield Batch([line])
                            continue
                        data = events.line(line.decode("utf-8", "replace"))
                        if data is None:
                            continue
                        batch = self._batch(message_records(o, data.encode()), newest)
                        if batch.records or batch.duplicates:
                            yield batch
                log.warning("%s: stream ended by the server; reconnecting", self.name)
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                log.warning("%s: %s: stream lost (%s); reconnecting", self.name, where(o.url), exc)
            attempt += 1
            if retry_after is None and events.retry_ms is not None:
                retry_after = events.retry_ms / 1000  # the server's own reconnection time
            await asyncio.sleep(backoff.delay(attempt, retry_after))

    def _batch(self, records: list, newest: dict[str, int]) -> Batch:
        latest = self.options.latest
        if latest is None:
            return Batch(records)
        kept, duplicates = [], 0
        for record in records:
            ts = record.get(latest.field) if isinstance(record, dict) else None
            key = record.get(latest.key) if isinstance(record, dict) else None
            if isinstance(ts, int) and isinstance(key, str):
                if ts <= newest.get(key, -1):
                    duplicates += 1
                    continue
                newest[key] = ts
            kept.append(record)
        return Batch(kept, {"latest": dict(newest)}, duplicates)


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes | Rejected]:
    """The stream's lines without their LF or CRLF ends (the spec's lone CR no vendor here sends), from
    chunks as they arrive: a batch of quotes can be longer than aiohttp's readline allows. An overlong
    line comes as a Rejected, and the rest of it is skipped."""
    buffer, skipping = b"", False
    async for chunk in content.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if skipping:
                skipping = False
                continue
            yield line.removesuffix(b"\r")
        if len(buffer) > MAX_LINE_BYTES and not skipping:
            yield Rejected(f"stream line of over {MAX_LINE_BYTES} bytes", buffer[:MAX_LINE_BYTES])
            skipping = True
        if skipping:
            buffer = b""
