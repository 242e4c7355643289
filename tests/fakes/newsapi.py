"""A local NewsAPI (newsapi.org/docs/endpoints/everything): /v2/everything with `from`, page/pageSize,
newest first, its JSON error bodies (apiKeyInvalid 401, rateLimited 429; newsapi.org/docs/errors) and
faults to order. With `quota`, the key's requests past it are refused with rateLimited, as the
Developer plan's request limit is (newsapi.org/pricing); `calls` counts every request that arrived."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from aiohttp import web

from tests.fakes.server import LoopbackServer

API_KEY = "newsapi-test-5b6c7d8e9f"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeNewsApi:
    def __init__(self, quota: int | None = None) -> None:
        self.articles: list[dict] = []
        self.calls, self.quota = 0, quota
        self.rate_limit_next = 0
        self.malformed_next = 0
        app = web.Application()
        app.router.add_get("/v2/everything", self._everything)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/v2/everything"

    async def start(self) -> FakeNewsApi:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    def publish(self, published_ms: int, n: int, **overrides) -> dict:
        article = {
            "source": {"id": "reuters", "name": "Reuters"},
            "author": "Desk",
            "title": f"Story {n}: $AAPL and $MSFT move as markets digest data",
            "description": "Markets moved.",
            "url": f"https://news.example/story-{n}",
            "urlToImage": None,
            "publishedAt": iso(published_ms),
            "content": f"Body of story {n} [+120 chars]",
            **overrides,
        }
        self.articles.append(article)
        return article

    async def _everything(self, request: web.Request) -> web.Response:
        self.calls += 1
        if request.query.get("apiKey") != API_KEY and request.headers.get("X-Api-Key") != API_KEY:
            return web.json_response(
                {
                    "status": "error",
                    "code": "apiKeyInvalid",
                    "message": "Your API key is invalid or incorrect. Check your key, or go to https://newsapi.org",
                },
                status=401,
            )
        if self.rate_limit_next or (self.quota is not None and self.calls > self.quota):
            self.rate_limit_next = max(0, self.rate_limit_next - 1)
            return web.json_response(
                {"status": "error", "code": "rateLimited", "message": "You have been rate limited."},
                status=429,
                headers={"Retry-After": "1"},
            )
        if self.malformed_next:
            self.malformed_next -= 1
            return web.Response(
                text='{"status":"ok","articles":[{"title": "cut', content_type="application/json"
            )
        since = request.query.get("from", "1970-01-01T00:00:00Z")
        size, page = int(request.query.get("pageSize", 100)), int(request.query.get("page", 1))
        matching = sorted(
            (a for a in self.articles if str(a["publishedAt"]) >= since),
            key=lambda a: str(a["publishedAt"]),
            reverse=True,
        )
        body = {
            "status": "ok",
            "totalResults": len(matching),
            "articles": matching[(page - 1) * size : page * size],
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")
