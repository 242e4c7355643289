"""A loopback server answering each path with a vendor's documented sample body (one per vendor)."""

from __future__ import annotations

import orjson
from aiohttp import web

from tests.fakes.server import LoopbackServer


class CannedVendor:
    def __init__(self, bodies: dict[str, object]) -> None:
        self.bodies, self.requests = bodies, []
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._answer)
        self.server = LoopbackServer(app)

    async def __aenter__(self) -> CannedVendor:
        await self.server.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.server.stop()

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        body = self.bodies.get(request.path)
        if body is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.Response(body=orjson.dumps(body), content_type="application/json")
