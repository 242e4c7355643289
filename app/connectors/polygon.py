"""Polygon.io stocks: the WebSocket feed (trades T, quotes Q, aggregates A/AM) with REST backfill on resume.

Protocol (polygon.io/docs/stocks/ws_getting-started): on connect the server sends a `connected` status;
the client sends {"action":"auth","params":KEY}, expects `auth_success`, then subscribes with
{"action":"subscribe","params":"T.AAPL,Q.AAPL"}. Frames are JSON arrays of events.

Resume: the cursor keeps the last sequence number and timestamp per channel and symbol. After every
(re)connect and subscribe, trades and quotes since the cursor are fetched from REST (/v3/trades, /v3/quotes,
following next_url), then the stream continues; anything at or before the cursor is dropped (and counted as
a duplicate), so a reconnect or a restart neither skips nor repeats. Sequence numbers "reset after each
trading session/day" (polygon.io/docs/stocks/get_v3_trades, sequence_number), so "before" compares
(trading day in New York, sequence), never the bare sequence. Aggregates are not backfilled (bars can be
recomputed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import orjson
import websockets
from pydantic import BaseModel, ConfigDict, Field

from app.connectors.http import BadPayload, VendorError, VendorUnavailable, refused_handshake
from app.connectors.producer import MAX_RECORD_BYTES, Rejected
from app.connectors.retry import Backoff
from app.connectors.runtime import Batch, Source
from app.schemas import BadRecord, parse_json, validate

log = logging.getLogger(__name__)
SOURCE = "polygon"
# Frames above the record limit are read whole (up to this) so they can be dead-lettered, not dropped.
MAX_FRAME = 16 * 1024 * 1024
BACKFILL = {"T": "trades", "Q": "quotes"}
MARKET_TIME = ZoneInfo("America/New_York")


def trading_day(ms: int) -> str:
    """The US trading day an event belongs to: the scope of Polygon's sequence numbers."""
    return datetime.fromtimestamp(ms / 1000, MARKET_TIME).date().isoformat()


class PolygonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ws_url: str = "wss://socket.polygon.io/stocks"
    rest_url: str = "https://api.polygon.io"
    symbols: list[str] = Field(min_length=1)
    channels: list[Literal["T", "Q", "A", "AM"]] = ["T", "Q", "AM"]
    backfill_page: int = Field(5000, ge=1, le=50_000)


def _present(record: dict) -> dict:
    """Absent vendor fields stay absent, so the schema reports them as missing rather than mistyped."""
    return {k: v for k, v in record.items() if v is not None}


def _tick(m: dict, timestamp) -> dict:
    return _present(
        {
            "type": "tick",
            "symbol": m.get("sym"),
            "timestamp": timestamp,
            "price": m.get("p"),
            "volume": m.get("s"),
            "sequence": m.get("q"),
            "source": SOURCE,
        }
    )


def _quote(m: dict, timestamp) -> dict:
    return _present(
        {
            "type": "quote",
            "symbol": m.get("sym"),
            "timestamp": timestamp,
            "bid": m.get("bp"),
            "ask": m.get("ap"),
            "bid_size": m.get("bs"),
            "ask_size": m.get("as"),
            "sequence": m.get("q"),
            "source": SOURCE,
        }
    )


def _agg(m: dict) -> dict:
    return _present(
        {
            "type": "agg",
            "symbol": m.get("sym"),
            "timestamp": m.get("s"),
            "end_timestamp": m.get("e"),
            "open": m.get("o"),
            "high": m.get("h"),
            "low": m.get("l"),
            "close": m.get("c"),
            "volume": m.get("v"),
            "vwap": m.get("vw"),
            "source": SOURCE,
        }
    )


class PolygonSource(Source):
    Options = PolygonOptions
    commit_interval = 1.0

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.state: dict[str, list[int]] = {}  # "T.AAPL" -> [timestamp_ms, sequence]
        self._duplicates = 0  # dropped since the last batch

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        self.state = dict(cursor or {})
        backoff, attempt = Backoff(base=0.5, cap=30.0), 0
        while True:
            retry_after = None
            try:
                async with websockets.connect(self.options.ws_url, max_size=MAX_FRAME, open_timeout=10) as ws:
                    early = await self._handshake(ws)
                    attempt = 0
                    async for batch in self._backfill():
                        yield batch
                    async for frame in _chain(early, ws):
                        batch = self._frame(frame)
                        if batch.records or batch.duplicates:
                            yield batch
                log.warning("%s: stream closed by the server; reconnecting", self.name)
            except websockets.InvalidStatus as exc:
                r = exc.response  # 429/5xx are retried; 401 and the like stop the connector
                retry_after = refused_handshake(
                    self.name, self.options.ws_url, r.status_code, r.headers, r.body, self.ctx.config.auth
                )
                log.warning("%s: handshake refused (HTTP %d); reconnecting", self.name, r.status_code)
            except VendorUnavailable as exc:  # the backfill's retries ran out: reconnect and backfill again
                log.warning("%s: %s; reconnecting", self.name, exc)
            except (TimeoutError, websockets.ConnectionClosed, websockets.InvalidHandshake, OSError) as exc:
                log.warning("%s: stream lost (%s); reconnecting", self.name, type(exc).__name__)
            attempt += 1
            await asyncio.sleep(backoff.delay(attempt, retry_after))

    async def _handshake(self, ws) -> list:
        """Connect, authenticate, subscribe and wait for every subscription's confirmation: the backfill may
        only start once the stream carries the channel, or what is published between the REST answer and the
        activation is lost. Returns the frames that arrived before the last confirmation, in order."""
        await self._expect(ws, "connected")
        await ws.send(_json({"action": "auth", "params": self.ctx.secret}))
        await self._expect(ws, "auth_success")
        params = [f"{c}.{s}" for c in self.options.channels for s in self.options.symbols]
        await ws.send(_json({"action": "subscribe", "params": ",".join(params)}))
        pending, early = set(params), []
        async with asyncio.timeout(10):
            while pending:
                frame = await ws.recv()
                if confirmed := _confirmations(frame):
                    pending -= confirmed
                else:
                    early.append(frame)
        return early

    async def _expect(self, ws, status: str) -> None:
        frame = await asyncio.wait_for(ws.recv(), 10)
        try:
            events = parse_json(frame)
        except BadRecord as exc:
            raise VendorError(f"{self.name}: unreadable handshake frame: {exc}") from None
        got = [e.get("status") for e in events if isinstance(e, dict) and e.get("ev") == "status"]
        if status not in got:
            message = next((e.get("message") for e in events if isinstance(e, dict)), got)
            raise VendorError(f"{self.name}: expected {status}, got {got}: {message}")

    def _admit(self, records: list, channel: str, data: dict) -> None:
        """Validate a trade/quote; a valid one after the cursor advances the cursor and is kept, one at or
        before it was already delivered (a resume overlap) and is dropped; an invalid one is rejected."""
        try:
            record = validate("market_event", data)
        except BadRecord as exc:
            records.append(Rejected(str(exc), data))
            return
        key = f"{channel}.{record.symbol}"
        last = self.state.get(key)
        if record.sequence is None:
            records.append(record)
        elif last is None or (trading_day(record.timestamp), record.sequence) > (
            trading_day(last[0]),
            last[1],
        ):
            self.state[key] = [record.timestamp, record.sequence]
            records.append(record)
        else:
            self._duplicates += 1

    def _batch(self, records: list) -> Batch:
        batch = Batch(records, dict(self.state), self._duplicates)
        self._duplicates = 0
        return batch

    def _frame(self, frame: str | bytes) -> Batch:
        if len(frame) > MAX_RECORD_BYTES:
            return Batch([Rejected(f"frame of {len(frame)} bytes exceeds {MAX_RECORD_BYTES}", frame)])
        try:
            events = parse_json(frame)
        except BadRecord as exc:
            return Batch([Rejected(str(exc), frame)])
        if not isinstance(events, list):
            events = [events]
        records = []
        for event in events:
            ev = event.get("ev") if isinstance(event, dict) else None
            if ev == "T":
                self._admit(records, "T", _tick(event, event.get("t")))
            elif ev == "Q":
                self._admit(records, "Q", _quote(event, event.get("t")))
            elif ev in ("A", "AM"):
                records.append(_agg(event))
            elif ev == "status":
                log.info("%s: status %s: %s", self.name, event.get("status"), event.get("message"))
            else:
                records.append(Rejected(f"unknown Polygon event {str(ev)[:40]!r}", event))
        return self._batch(records)

    async def _backfill(self) -> AsyncIterator[Batch]:
        http = self.ctx.http()
        for channel, endpoint in BACKFILL.items():
            if channel not in self.options.channels:
                continue
            for symbol in self.options.symbols:
                last = self.state.get(f"{channel}.{symbol}")
                if last is None:
                    continue  # nothing delivered yet: the live stream is where this symbol starts
                url = f"{self.options.rest_url}/v3/{endpoint}/{symbol}"
                params = {
                    "timestamp.gte": last[0] * 1_000_000,
                    "order": "asc",
                    "sort": "timestamp",
                    "limit": self.options.backfill_page,
                }
                while url:
                    try:
                        page = await http.get_json(url, params)
                    except BadPayload as exc:
                        page = Rejected(exc.reason, exc.raw)
                    usable = isinstance(page, dict) and isinstance(page.get("results"), list | None)
                    if not usable and not isinstance(page, Rejected):
                        page = Rejected(f"{endpoint} page is not an object with a results list", page)
                    if isinstance(page, Rejected):  # dead-lettered, then the gap is fetched again later
                        yield Batch([page])
                        raise VendorUnavailable(f"{self.name}: unusable {endpoint} page for {symbol}")
                    records = []
                    for row in page.get("results") or []:
                        if not isinstance(row, dict):
                            records.append(Rejected(f"{endpoint} result is not an object", row))
                            continue
                        ts = row.get("sip_timestamp")
                        ms = ts // 1_000_000 if isinstance(ts, int) else ts
                        event = {"sym": symbol, "q": row.get("sequence_number")}
                        if channel == "T":
                            data = _tick({**event, "p": row.get("price"), "s": row.get("size")}, ms)
                        else:
                            data = _quote(
                                {
                                    **event,
                                    "bp": row.get("bid_price"),
                                    "ap": row.get("ask_price"),
                                    "bs": row.get("bid_size"),
                                    "as": row.get("ask_size"),
                                },
                                ms,
                            )
                        self._admit(records, channel, data)
                    yield self._batch(records)
                    url, params = page.get("next_url"), None
                    url = url if isinstance(url, str) else None


def _confirmations(frame: str | bytes) -> set[str]:
    """The channels a frame of status events confirms ("subscribed to: T.AAPL"); empty for any other frame."""
    try:
        events = parse_json(frame)
    except BadRecord:
        return set()
    if not isinstance(events, list) or not all(
        isinstance(e, dict) and e.get("ev") == "status" for e in events
    ):
        return set()
    return {
        str(e.get("message", "")).removeprefix("subscribed to: ")
        for e in events
        if e.get("status") == "success"
    }


async def _chain(early: list, ws) -> AsyncIterator:
    for frame in early:
        yield frame
    async for frame in ws:
        yield frame


def _json(doc: dict) -> str:
    return orjson.dumps(doc).decode()
