"""A fake vendor server driven by a recorded fixture (tests/fakes/vendors/<source>.yaml): it answers what
the vendor's documentation says its API answers, for the REST, WebSocket and Server-Sent Events sources.

A fixture names the document it follows (`document:`) and holds two phases, `before` and `after` the
connector's restart:
  - REST: a list of rules {path (fnmatch: `*` for a date), query (a subset to match), times (serve this
    many times, then fall through), status, headers, body (JSON) | text (raw bytes: CSV, a cut-off JSON)};
    the first rule that matches a request answers it, a request no rule matches gets 404;
  - streams: `stream: {before: [...], after: [...]}`, the messages one connection of that phase gets (each
    a JSON document, or a string sent as it is); a WebSocket connection gets them once the connector has
    sent its `subscriptions`, an SSE connection at once, as `data:` events.
`unauthorized` is the vendor's answer (status, body) to a request without the credential, which is
expected where sources.yaml's `auth` puts it. In headers and bodies, "{base}" becomes this server's URL
and "{epoch+N}" the Unix time N seconds from now (a rate-limit reset).
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from tests.fakes.server import LoopbackServer


@dataclass
class Credential:
    value: str
    query: str | None = None
    header: str | None = None
    prefix: str = ""

    def carried_by(self, request: web.Request) -> bool:
        if self.query is not None:
            return request.query.get(self.query) == self.prefix + self.value
        return request.headers.get(self.header or "", None) == self.prefix + self.value


@dataclass
class _Rule:
    spec: dict
    served: int = 0

    def matches(self, request: web.Request) -> bool:
        if not fnmatch.fnmatchcase(request.path, self.spec["path"]):
            return False
        wanted = {k: str(v) for k, v in (self.spec.get("query") or {}).items()}
        if any(request.query.get(k) != v for k, v in wanted.items()):
            return False
        times = self.spec.get("times")
        return times is None or self.served < times


@dataclass
class FixtureVendor:
    fixture: dict
    credential: Credential | None
    subscriptions: int = 0  # WebSocket messages the connector sends before the vendor streams
    phase: str = "before"
    requests: list = field(default_factory=list)  # (phase, path, query) of every request
    connections: int = 0

    def __post_init__(self) -> None:
        self._rules = {p: [_Rule(r) for r in self.fixture.get(p) or []] for p in ("before", "after")}
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._answer)
        self.server = LoopbackServer(app)

    @property
    def base(self) -> str:
        return self.server.url

    async def __aenter__(self) -> FixtureVendor:
        await self.server.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.server.stop()

    def _fill(self, value):
        if isinstance(value, str):
            text = value.replace("{base}", self.base)
            if text.startswith("{epoch+") and text.endswith("}"):
                return str(int(time.time()) + int(text[len("{epoch+") : -1]))
            return text
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self._fill(v) for k, v in value.items()}
        return value

    def _unauthorized(self) -> web.Response:
        return self._response({"status": 401, **self.fixture["unauthorized"]})

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((self.phase, request.path, dict(request.query)))
        if self.credential is not None and not self.credential.carried_by(request):
            return self._unauthorized()
        if "stream" in self.fixture:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._websocket(request)
            return await self._events(request)
        for rule in self._rules[self.phase]:
            if rule.matches(request):
                rule.served += 1
                return self._response(rule.spec)
        return web.json_response({"error": f"no such resource: {request.path}"}, status=404)

    def _response(self, spec: dict) -> web.Response:
        headers = self._fill(spec.get("headers") or {})
        status = spec.get("status", 200)
        if "text" in spec:
            content_type = spec.get("content_type", "text/plain")
            return web.Response(
                status=status, text=self._fill(spec["text"]), headers=headers, content_type=content_type
            )
        body = orjson.dumps(self._fill(spec.get("body")))
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")

    def _messages(self) -> list[str]:
        return [
            m if isinstance(m, str) else orjson.dumps(self._fill(m)).decode()
            for m in self.fixture["stream"][self.phase]
        ]

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        for _ in range(self.subscriptions):
            if (await ws.receive()).type != WSMsgType.TEXT:
                return ws
        for message in self._messages():
            await ws.send_str(message)
        await ws.receive()  # then idle until the client goes
        return ws

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        self.connections += 1
        for message in self._messages():
            await response.write(f"data: {message}\n\n".encode())
        while True:  # an open stream with keep-alive comments, until the client goes
            await asyncio.sleep(0.5)
            await response.write(b": keep-alive\n\n")
