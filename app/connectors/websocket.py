"""The generic WebSocket adapter: a streaming vendor as a sources.yaml entry (URL, credential, subscribe
messages, which messages carry records, where the records sit, field mapping).

Reconnects with backoff and jitter when the stream drops and subscribes again. Feeds without a replay
facility (Finnhub's, for one) lose what is sent while disconnected; a vendor with sequence numbers and a
backfill API gets a named adapter (see polygon.py) for gapless resume.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import orjson
import websockets
from pydantic import BaseModel, ConfigDict

from app.connectors.http import refused_handshake
from app.connectors.mapping import Mapping, MappingError, apply, lookup, selected
from app.connectors.polygon import MAX_FRAME
from app.connectors.producer import MAX_RECORD_BYTES, Rejected
from app.connectors.retry import Backoff
from app.connectors.runtime import Batch, Source
from app.schemas import BadRecord, parse_json

log = logging.getLogger(__name__)


class StreamOptions(BaseModel):
    """What every streaming adapter reads from a message: which messages carry records, where, and how
    they map onto the topic's schema."""

    model_config = ConfigDict(extra="forbid")
    url: str
    # only messages whose field (a dotted path) has this value, or one of these values, carry records:
    # skips pings, status messages, removals
    where: dict[str, str | int | list[str | int]] = {}
    records: str | list[str] = ""  # path of the record list in a message; "" = the message itself
    mapping: Mapping


class WebSocketOptions(StreamOptions):
    symbols: list[str] = []
    subscribe: list[dict] = []  # sent after connecting; "{symbol}" in a value repeats the message per symbol


def _subscriptions(options: WebSocketOptions) -> list[str]:
    out = []
    for message in options.subscribe:
        templated = any(v == "{symbol}" for v in message.values())
        for symbol in options.symbols if templated else [None]:
            out.append(
                orjson.dumps({k: symbol if v == "{symbol}" else v for k, v in message.items()}).decode()
            )
    return out


class WebSocketSource(Source):
    Options = WebSocketOptions
    commit_interval = 1.0

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        o = self.options
        auth = self.ctx.config.auth
        url = o.url
        if auth and auth.query:
            url += ("&" if "?" in url else "?") + urlencode({auth.query: auth.prefix + self.ctx.secret})
        headers = {auth.header: auth.prefix + self.ctx.secret} if auth and auth.header else None
        backoff, attempt = Backoff(base=0.5, cap=30.0), 0
        while True:
            retry_after = None
            try:
                async with websockets.connect(
                    url, additional_headers=headers, max_size=MAX_FRAME, open_timeout=10
                ) as ws:
                    for message in _subscriptions(o):
                        await ws.send(message)
                    attempt = 0
                    async for frame in ws:
                        records = message_records(o, frame)
                        if records:
                            yield Batch(records)
                log.warning("%s: stream closed by the server; reconnecting", self.name)
            except websockets.InvalidStatus as exc:
                r = exc.response  # 429/5xx are retried; 401 and the like stop the connector
                retry_after = refused_handshake(
                    self.name, o.url, r.status_code, r.headers, r.body, self.ctx.config.auth
                )
                log.warning("%s: handshake refused (HTTP %d); reconnecting", self.name, r.status_code)
            except (TimeoutError, websockets.ConnectionClosed, websockets.InvalidHandshake, OSError) as exc:
                log.warning("%s: stream lost (%s); reconnecting", self.name, type(exc).__name__)
            attempt += 1
            await asyncio.sleep(backoff.delay(attempt, retry_after))


def message_records(options: StreamOptions, frame: str | bytes) -> list:
    """The mapped records of one stream message (dicts, or Rejected with the reason); [] when the message
    carries none (a ping, a status message)."""
    if len(frame) > MAX_RECORD_BYTES:
        return [Rejected(f"message of {len(frame)} bytes exceeds {MAX_RECORD_BYTES}", frame)]
    try:
        message = parse_json(frame)
    except BadRecord as exc:
        return [Rejected(str(exc), frame)]
    if isinstance(message, list):  # a batch of events (IEX's SSE): `where` picks among them
        items = [m for m in message if not isinstance(m, dict) or selected(m, options.where)]
    elif not isinstance(message, dict) or not selected(message, options.where):
        return []
    else:
        items = lookup(message, options.records) if options.records else message
    if not isinstance(items, list):
        items = [items]
    out = []
    for item in items:
        try:
            out.append(apply(options.mapping, item, message))
        except MappingError as exc:
            out.append(Rejected(str(exc), item))
    return out
