"""A local news vendor for `wh pipeline`: NewsAPI's /v2/everything (newsapi.org/docs/endpoints/everything)
on loopback, serving app/local/news_headlines.yaml as articles published over the last hour, so the
configured newsapi source runs unchanged against it. Newest first, `from` inclusive, page/pageSize, and the
key in X-Api-Key or apiKey (401 apiKeyInvalid otherwise), as NewsAPI answers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from aiohttp import web

HEADLINES = Path(__file__).with_name("news_headlines.yaml")
API_KEY = "local-news-vendor"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalNewsVendor:
    def __init__(self) -> None:
        now = int(time.time()) * 1000
        entries = yaml.safe_load(HEADLINES.read_text(encoding="utf-8"))
        self.articles = [
            {
                "source": {"id": None, "name": entry["source"]},
                "author": None,
                "title": entry["title"],
                "description": None,
                "url": f"https://news.local/{n}",
                "urlToImage": None,
                "publishedAt": _iso(now - (len(entries) - n) * 60_000),
                "content": None,
            }
            for n, entry in enumerate(entries)
        ]
        app = web.Application()
        app.router.add_get("/v2/everything", self._everything)
        self._runner = web.AppRunner(app)
        self.url = ""

    async def __aenter__(self) -> LocalNewsVendor:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v2/everything"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    async def _everything(self, request: web.Request) -> web.Response:
        if API_KEY not in (request.headers.get("X-Api-Key"), request.query.get("apiKey")):
            body = {"status": "error", "code": "apiKeyInvalid", "message": "Your API key is invalid."}
            return web.json_response(body, status=401)
        since = request.query.get("from", "")
        size, page = int(request.query.get("pageSize", 100)), int(request.query.get("page", 1))
        matching = sorted(
            (a for a in self.articles if a["publishedAt"] >= since), key=lambda a: a["publishedAt"]
        )
        matching.reverse()
        articles = matching[(page - 1) * size : page * size]
        return web.json_response({"status": "ok", "totalResults": len(matching), "articles": articles})
