"""Polygon.io stocks: the WebSocket feed (trades T, quotes Q, aggregates A/AM) with REST backfill on resume.

Protocol (polygon.io/docs/stocks/ws_getting-started): on connect the server sends a `connected` status;
the client sends {"action":"auth","params":KEY}, expects `auth_success`, then subscribes with
{"action":"subscribe","params":"T.AAPL,Q.AAPL"}. Frames are JSON arrays of events.

Resume: the cursor keeps the last sequence number and timestamp per channel and symbol. After every
(re)connect and subscribe, trades and quotes since the cursor are fetched from REST (/v3/trades, /v3/quotes,
following next_url), then the stream continues; anything at or below the cursor's sequence is dropped, so a
reconnect or a restart neither skips nor repeats. Aggregates are not backfilled (bars can be recomputed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Literal

import orjson
import websockets
from pydantic import BaseModel, ConfigDict, Field

from app.connectors.http import VendorError
from app.connectors.producer import MAX_RECORD_BYTES, Rejected
from app.connectors.retry import Backoff
from app.connectors.runtime import Batch, Source
from app.schemas import BadRecord, parse_json, validate

log = logging.getLogger(__name__)
SOURCE = "polygon"
# Frames above the record limit are read whole (up to this) so they can be dead-lettered, not dropped.
MAX_FRAME = 16 * 1024 * 1024
BACKFILL = {"T": "trades", "Q": "quotes"}


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

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        self.state: dict[str, list[int]] = dict(cursor or {})  # "T.AAPL" -> [timestamp_ms, sequence]
        backoff, attempt = Backoff(base=0.5, cap=30.0), 0
        while True:
            try:
                async with websockets.connect(self.options.ws_url, max_size=MAX_FRAME, open_timeout=10) as ws:
                    await self._handshake(ws)
                    attempt = 0
                    async for batch in self._backfill():
                        yield batch
                    async for frame in ws:
                        batch = self._frame(frame)
                        if batch.records:
                            yield batch
                log.warning("%s: stream closed by the server; reconnecting", self.name)
            except (TimeoutError, websockets.ConnectionClosed, OSError) as exc:
                log.warning("%s: stream lost (%s); reconnecting", self.name, type(exc).__name__)
            attempt += 1
            await asyncio.sleep(backoff.delay(attempt))

    async def _handshake(self, ws) -> None:
        await self._expect(ws, "connected")
        await ws.send(_json({"action": "auth", "params": self.ctx.secret}))
        await self._expect(ws, "auth_success")
        params = ",".join(f"{c}.{s}" for c in self.options.channels for s in self.options.symbols)
        await ws.send(_json({"action": "subscribe", "params": params}))

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
        if record.sequence is None or last is None or record.sequence > last[1]:
            if record.sequence is not None:
                self.state[key] = [record.timestamp, record.sequence]
            records.append(record)

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
        return Batch(records, dict(self.state))

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
                    page = await http.get_json(url, params)
                    records = []
                    for row in page.get("results") or []:
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
                    yield Batch(records, dict(self.state))
                    url, params = page.get("next_url"), None


def _json(doc: dict) -> str:
    return orjson.dumps(doc).decode()
