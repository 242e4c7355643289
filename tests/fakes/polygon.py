"""A local Polygon.io stocks server: WebSocket feed and REST v3 trades/quotes, in Polygon's wire format.

Follows polygon.io/docs/stocks/ws_getting-started (status/auth/subscribe frames, JSON arrays of events),
polygon.io/docs/stocks/ws_stocks_t (trade fields) and polygon.io/docs/stocks/get_v3_trades (REST rows,
next_url paging; "sequence_number ... Values reset after each trading session/day").

The tape: `sessions` trading days (the last one today, each earlier one 24 h before it), each with
`per_symbol` trades per symbol numbered 1..per_symbol: the sequence restarts every session, as Polygon's
does. One round (every symbol once) is published every `interval` s from the first subscription on. Live
subscribers get them as Polygon sends them (JSON arrays); REST serves what is already published, filtered by
`timestamp.gte` (ns) and paginated with next_url.
Faults: `drop_after` cuts the first connection's TCP stream after that many events; `inject` sends raw
frames (malformed on purpose) once to the first subscriber; `throttle` answers that many REST calls 429;
`refuse` answers the first WebSocket upgrades with these HTTP statuses instead of 101 (RFC 6455 4.1: any
other status fails the handshake; 429 with Retry-After as Polygon's REST rate limit does); `bad_pages`
answers that many REST calls 200 with a body that is not an object; `subscribe_delay` takes that long to
activate a subscription (a busy server), which is then confirmed with a `success` status per channel: from
that confirmation on, the stream carries the channel's events.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from tests.fakes.server import LoopbackServer

API_KEY = "pk-test-0f9e8d7c"
DAY_MS = 86_400_000
ERR_KEY = {"status": "ERROR", "request_id": "a1", "error": "Unknown API Key"}
ERR_RATE = {
    "status": "ERROR",
    "request_id": "a2",
    "error": "You've exceeded the maximum requests per minute, please wait or upgrade your "
    "subscription to continue. https://polygon.io/pricing",
}


@dataclass(eq=False)
class _Subscriber:
    ws: web.WebSocketResponse
    request: web.Request
    cut_after: int | None
    channels: set[str] = field(default_factory=set)
    sent: int = 0


class FakePolygon:
    def __init__(
        self,
        symbols,
        per_symbol=100,
        interval=0.01,
        drop_after=None,
        inject=(),
        throttle=0,
        sessions=1,
        refuse=(),
        bad_pages=0,
        subscribe_delay=0.0,
    ):
        self.symbols, self.per_symbol, self.interval = list(symbols), per_symbol, interval
        self.drop_after, self.inject, self.throttle = drop_after, list(inject), throttle
        self.sessions, self.refuse, self.bad_pages = sessions, list(refuse), bad_pages
        self.subscribe_delay = subscribe_delay
        self.trades: dict[str, list[dict]] = {s: [] for s in self.symbols}
        self.subscribers: list[_Subscriber] = []
        self.connections = self.rest_calls = self.throttled = 0
        self.done, self.subscribed = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_get("/stocks", self._ws)
        app.router.add_get("/v3/trades/{ticker}", self._rest)
        self.server = LoopbackServer(app)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/stocks"

    @property
    def published(self) -> int:
        return sum(map(len, self.trades.values()))

    async def start(self) -> FakePolygon:
        await self.server.start()
        self._task = asyncio.create_task(self._publish())
        return self

    async def stop(self) -> None:
        self._task.cancel()
        for sub in list(self.subscribers):
            await sub.ws.close()
        await self.server.stop()

    async def _publish(self) -> None:
        await self.subscribed.wait()  # the tape starts with the first subscriber, so "everything" is defined
        rounds = [(day, n) for day in range(self.sessions) for n in range(1, self.per_symbol + 1)]
        for day, n in rounds:
            await asyncio.sleep(self.interval)
            for i, symbol in enumerate(self.symbols):
                t = int(time.time() * 1000) - (self.sessions - 1 - day) * DAY_MS
                trade = {
                    "ev": "T",
                    "sym": symbol,
                    "i": f"{day}-{n}",
                    "x": 4,
                    "p": round(100 + i * 50 + n * 0.01, 4),
                    "s": 100,
                    "c": [0],
                    "t": t,
                    "q": n,
                    "z": 3,
                }
                self.trades[symbol].append(trade)
                for sub in list(self.subscribers):
                    if f"T.{symbol}" in sub.channels and not sub.ws.closed:
                        await sub.ws.send_str(orjson.dumps([trade]).decode())
                        sub.sent += 1
                        if sub.cut_after is not None and sub.sent >= sub.cut_after:
                            self.subscribers.remove(sub)
                            sub.request.transport.close()  # an abrupt TCP drop, no close frame
        self.done.set()

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self.refuse:
            status = self.refuse.pop(0)
            headers = {"Retry-After": "1"} if status == 429 else {}
            return web.json_response(
                ERR_RATE if status == 429 else {"status": "ERROR"}, status=status, headers=headers
            )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        sub = _Subscriber(ws, request, self.drop_after if self.connections == 1 else None)
        await ws.send_str('[{"ev":"status","status":"connected","message":"Connected Successfully"}]')
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            action = orjson.loads(msg.data)
            if action.get("action") == "auth":
                if action.get("params") != API_KEY:
                    await ws.send_str(
                        '[{"ev":"status","status":"auth_failed","message":"authentication failed"}]'
                    )
                    await ws.close()
                    break
                await ws.send_str('[{"ev":"status","status":"auth_success","message":"authenticated"}]')
            elif action.get("action") == "subscribe":
                await asyncio.sleep(self.subscribe_delay)
                sub.channels.update(action["params"].split(","))
                self.subscribers.append(sub)
                for channel in action["params"].split(","):
                    await ws.send_str(
                        orjson.dumps(
                            [{"ev": "status", "status": "success", "message": f"subscribed to: {channel}"}]
                        ).decode()
                    )
                while self.inject:
                    await ws.send_str(self.inject.pop(0))
                self.subscribed.set()
        if sub in self.subscribers:
            self.subscribers.remove(sub)
        return ws

    async def _rest(self, request: web.Request) -> web.Response:
        self.rest_calls += 1
        if request.query.get("apiKey") != API_KEY:
            return web.json_response(ERR_KEY, status=401)
        if self.throttled < self.throttle:
            self.throttled += 1
            return web.json_response(ERR_RATE, status=429, headers={"Retry-After": "1"})
        if self.bad_pages:
            self.bad_pages -= 1
            return web.json_response(["not", "a", "page"])
        ticker = request.match_info["ticker"]
        if "cursor" in request.query:
            gte, offset, limit = orjson.loads(base64.urlsafe_b64decode(request.query["cursor"]))
        else:
            gte, offset = int(request.query.get("timestamp.gte", 0)), 0
            limit = int(request.query.get("limit", 1000))
        rows = [
            {
                "conditions": t["c"],
                "exchange": t["x"],
                "id": t["i"],
                "participant_timestamp": t["t"] * 1_000_000 - 7,
                "price": t["p"],
                "sequence_number": t["q"],
                "sip_timestamp": t["t"] * 1_000_000,
                "size": t["s"],
                "tape": t["z"],
            }
            for t in list(self.trades.get(ticker, []))
            if t["t"] * 1_000_000 >= gte
        ]
        page = rows[offset : offset + limit]
        body = {"results": page, "status": "OK", "request_id": f"r{self.rest_calls}"}
        if offset + limit < len(rows):
            token = base64.urlsafe_b64encode(orjson.dumps([gte, offset + limit, limit])).decode()
            body["next_url"] = f"{self.server.url}/v3/trades/{ticker}?cursor={token}"
        return web.json_response(body)
