"""The connector runtime: one source, its topic, its cursor, graceful shutdown.

A source yields `Batch`es of raw mapped records (dicts, or `Rejected`) with the cursor that holds once
the batch is delivered. The runtime validates and produces each batch, and saves the cursor only after a
flush in which the broker acknowledged every record (or its dead letter), so a restart resumes exactly
after the last delivered batch. A delivery failure stops the connector with DeliveryFailed and the cursor
where it was. On stop it finishes the batch in hand, flushes, saves the cursor and closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from pydantic import BaseModel

from app import metrics
from app.catalog import Catalog, catalog
from app.connectors.config import SourceConfig, credential
from app.connectors.cursor import CursorStore
from app.connectors.http import HttpClient
from app.connectors.producer import TopicProducer
from app.connectors.quota import Quota, QuotaStore
from app.connectors.ratelimit import SLIDING_SECONDS, RateLimiter, parse_rate

log = logging.getLogger(__name__)


@dataclass
class Batch:
    records: list
    cursor: dict | None = None
    duplicates: int = 0  # records the source dropped as already delivered; counted, never silent


@dataclass
class SourceContext:
    """What a source gets from the runtime: its config, options, credential and an HTTP client."""

    config: SourceConfig
    options: BaseModel
    secret: str | None
    limiter: RateLimiter | None
    session: aiohttp.ClientSession | None = field(default=None, repr=False)
    quota: Quota | None = None

    def credentials(self) -> tuple[dict, dict]:
        """(query parameters, headers) that carry the credential, as the source's `auth` says."""
        auth = self.config.auth
        params = {auth.query: auth.prefix + self.secret} if auth and auth.query else {}
        headers = {auth.header: auth.prefix + self.secret} if auth and auth.header else {}
        return params, headers

    def http(self, headers: dict | None = None) -> HttpClient:
        params, auth_headers = self.credentials()
        headers = {**(headers or {}), **auth_headers} or None
        return HttpClient(
            self.config.name,
            self.session,
            self.limiter,
            auth_params=params or None,
            auth_headers=headers,
            quota=self.quota,
            auth=self.config.auth,
        )


class Source:
    """Base of every adapter. Subclasses set `Options` (a pydantic model) and implement `batches`."""

    Options: type[BaseModel]
    # Seconds between cursor commits (each commit waits for a producer flush).
    commit_interval: float = 0.0

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx, self.options, self.name = ctx, ctx.options, ctx.config.name

    def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        raise NotImplementedError


class RateLimiters:
    """The in-memory rate limiters of one process, one per credential (per source when keyless): sources
    that share an API key and run in one process draw on one limit, as the vendor counts it."""

    def __init__(self) -> None:
        self._limiters: dict[str, RateLimiter] = {}

    def for_source(self, config: SourceConfig) -> RateLimiter | None:
        limit, period = parse_rate(config.rate_limit) if config.rate_limit else (0, "")
        if period not in SLIDING_SECONDS:
            return None
        # load_sources makes the sources sharing a credential declare one rate
        key = config.auth.env if config.auth else f"source:{config.name}"
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(limit, SLIDING_SECONDS[period])
        return self._limiters[key]


class Connector:
    """One source into its catalog topic (and its pipeline's dead letter); `run()` until the source ends or
    `stop()`. `topic_suffix` selects suffixed topics of `topics` (tests and benchmarks on a shared broker).
    Daily/monthly quotas are counted in `quotas` (default: beside the cursors); second/minute/hour rates in
    `limiters` (default: the connector's own), which connectors of one process share."""

    def __init__(
        self,
        config: SourceConfig,
        options: BaseModel,
        bootstrap_servers: str,
        cursors: CursorStore,
        topics: Catalog | None = None,
        topic_suffix: str = "",
        producer_overrides: dict | None = None,
        quotas: QuotaStore | None = None,
        limiters: RateLimiters | None = None,
    ) -> None:
        secret = credential(config.auth, config.name)  # a missing one fails before anything connects
        topics = topics or catalog()
        topic = topics[config.topic + topic_suffix]
        self.config, self.cursors = config, cursors
        self.producer = TopicProducer(
            bootstrap_servers,
            topic,
            topics.dead_letter(topic.pipeline),
            config.name,
            producer_overrides=producer_overrides,
        )
        limiter = (limiters or RateLimiters()).for_source(config)
        quota = Quota.for_source(config, quotas or QuotaStore(cursors.directory))
        self.ctx = SourceContext(config, options, secret, limiter, quota=quota)
        self.source: Source = config.source_class()(self.ctx)
        self.stop_event = asyncio.Event()
        self._pending: dict | None = None  # the cursor of the last batch handed to the producer

    def stop(self) -> None:
        self.stop_event.set()

    async def run(self) -> None:
        name = self.config.name
        cursor = self.cursors.load(name)
        log.info(
            "%s: starting into %s (%s)", name, self.producer.topic, "resuming" if cursor else "no cursor"
        )
        if self.ctx.quota is not None:
            log.info("%s: quota: %s", name, self.ctx.quota.describe())
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            self.ctx.session = session
            poller = asyncio.create_task(self._serve_callbacks())
            try:
                await self._pump(cursor)
            finally:
                poller.cancel()
                try:
                    await self._commit()
                finally:
                    self.producer.close()
        log.info(
            "%s: stopped (%d delivered, %d dead-lettered)",
            name,
            self.producer.delivered_total,
            self.producer.dead_lettered_total,
        )

    async def _serve_callbacks(self) -> None:
        """Delivery reports and metrics keep flowing while the source is quiet."""
        while True:
            await asyncio.sleep(0.1)
            self.producer.poll()

    async def _pump(self, cursor: dict | None) -> None:
        """Only the wait for the source's next batch is interrupted by stop(); a batch in hand is finished."""
        last_commit = time.monotonic()
        batches = self.source.batches(cursor)
        stopping = asyncio.ensure_future(self.stop_event.wait())
        following = None
        try:
            while True:
                following = asyncio.ensure_future(anext(batches))
                await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    return
                try:
                    batch = following.result()
                except StopAsyncIteration:
                    return
                await self.producer.send(batch.records)
                self.producer.metrics.processed(self.producer.topic, metrics.DUPLICATE, batch.duplicates)
                self.producer.check()  # stop at the first failed delivery instead of pumping on
                if batch.cursor is not None:
                    self._pending = batch.cursor
                    if time.monotonic() - last_commit >= self.source.commit_interval:
                        await self._commit()
                        last_commit = time.monotonic()
        finally:
            stopping.cancel()
            if following is not None and not following.done():
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            await batches.aclose()

    async def _commit(self) -> None:
        await self.producer.flush()
        self.producer.check()
        pending, self._pending = self._pending, None
        if pending is not None:
            self.cursors.save(self.config.name, pending)
