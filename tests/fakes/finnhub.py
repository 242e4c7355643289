"""A local Finnhub trades WebSocket (finnhub.io/docs/api/websocket-trades): ?token= auth (401 on the
handshake otherwise), {"type":"subscribe","symbol":...}, {"type":"trade","data":[{p,s,t,v,c}]} and pings."""

from __future__ import annotations

import asyncio
import time

import orjson
from aiohttp import WSMsgType, web

from tests.fakes.server import LoopbackServer

TOKEN = "finnhub-test-c0ffee"


class FakeFinnhub:
    def __init__(self, per_connection: int, drop_first: bool = True, extra_frames=()) -> None:
        self.per_connection, self.drop_first, self.extra = per_connection, drop_first, list(extra_frames)
        self.connections, self.sent = 0, []
        app = web.Application()
        app.router.add_get("/", self._ws)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/"

    async def _ws(self, request: web.Request):
        if request.query.get("token") != TOKEN:
            return web.Response(status=401, text="Invalid API key")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        symbols = []
        while len(symbols) < 2:
            msg = await ws.receive()
            if msg.type != WSMsgType.TEXT:
                return ws
            symbols.append(orjson.loads(msg.data)["symbol"])
        while self.extra:
            await ws.send_str(self.extra.pop(0))
        for i in range(self.per_connection):
            symbol = symbols[i % len(symbols)]
            trade = {
                "p": 100 + len(self.sent) * 0.01,
                "s": symbol,
                "t": int(time.time() * 1000),
                "v": 10,
                "c": None,
            }
            self.sent.append(trade)
            await ws.send_str(orjson.dumps({"type": "trade", "data": [trade]}).decode())
            if i % 10 == 0:
                await ws.send_str('{"type":"ping"}')
            await asyncio.sleep(0.005)
        if self.drop_first and self.connections == 1:
            request.transport.close()  # mid-stream drop, no close frame
            return ws
        await ws.receive()  # then idle until the client goes
        return ws
