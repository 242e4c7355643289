"""HTTP for REST sources: the source's rate and daily/monthly quota (each attempt counts), retries with
backoff, Retry-After on 429, vendor errors.

Messages name the host and path only: query strings may carry the API key.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp

from app.connectors.config import Auth
from app.connectors.quota import Quota
from app.connectors.ratelimit import RateLimiter
from app.connectors.retry import Backoff, parse_retry_after, server_delay
from app.schemas import BadRecord, parse_json

log = logging.getLogger(__name__)

# Vendors that answer "over quota" with HTTP 200 and a message body (Alpha Vantage's Note/Information).
THROTTLED_BODY_WAIT = 60.0
DEFAULT_BACKOFF = Backoff()


class VendorError(RuntimeError):
    """The vendor refused the request for a reason a retry will not fix (bad symbol, 4xx)."""


class CredentialRefused(VendorError):
    """The vendor refused the credential: every request would be refused, so the source stops (a poll
    that carried on would spend the quota and log the same error forever)."""


class VendorUnavailable(RuntimeError):
    """Still failing after every retry."""


class BadPayload(RuntimeError):
    def __init__(self, reason: str, raw: bytes) -> None:
        super().__init__(reason)
        self.reason, self.raw = reason, raw


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


class HttpClient:
    def __init__(
        self,
        source: str,
        session: aiohttp.ClientSession,
        limiter: RateLimiter | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        auth_params: dict | None = None,
        auth_headers: dict | None = None,
        quota: Quota | None = None,
        auth: Auth | None = None,
    ) -> None:
        self.source, self.session, self.limiter, self.backoff = source, session, limiter, backoff
        self.quota, self.auth = quota, auth
        self._params, self._headers = auth_params or {}, auth_headers or {}

    async def get_json(
        self, url: str, params: dict | None = None, throttled: Callable[[object], str | None] | None = None
    ) -> object:
        """GET and parse JSON. `throttled(body)` returns a message when a 200 body means "over quota"."""
        body = await self.get(url, params, throttled=throttled)
        return self._parse(url, body)

    def _parse(self, url: str, body: bytes) -> object:
        try:
            return parse_json(body)
        except BadRecord as exc:
            raise BadPayload(f"{where(url)}: {exc}", body) from None

    async def get(self, url: str, params: dict | None = None, throttled=None) -> bytes:
        attempt = 0
        while True:
            attempt += 1
            if self.limiter:
                await self.limiter.acquire()
            if self.quota:
                await self.quota.acquire()
            retry_after = None
            try:
                async with self.session.get(
                    url, params={**(params or {}), **self._params}, headers=self._headers
                ) as response:
                    body = await response.read()
                    status = response.status
                    if status == 429:
                        retry_after = server_delay(response.headers)
                        shown = "none given" if retry_after is None else f"{retry_after:.1f}s"
                        problem = f"429 Too Many Requests (server's wait: {shown})"
                    elif status >= 500:
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        problem = f"HTTP {status}"
                    elif status >= 400:
                        problem = f"{self.source}: HTTP {status} from {where(url)}: {_message(body)}"
                        raise self.refused(problem, status)
                    else:
                        note = throttled(self._parse(url, body)) if throttled else None
                        if note is None:
                            return body
                        retry_after, problem = THROTTLED_BODY_WAIT, f"over quota: {note[:200]}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem = f"{type(exc).__name__}"
            if attempt >= self.backoff.max_attempts:
                raise VendorUnavailable(
                    f"{self.source}: {where(url)} failed {attempt} times, last: {problem}"
                )
            delay = self.backoff.delay(attempt, retry_after)
            log.warning("%s: %s: %s; retry %d in %.2fs", self.source, where(url), problem, attempt, delay)
            await asyncio.sleep(delay)

    def refused(self, problem: str, status: int | None = None) -> VendorError:
        return refusal(self.source, self.auth, problem, status)


def refusal(source: str, auth: Auth | None, problem: str, status: int | None = None) -> VendorError:
    """The error of a request the vendor refused: CredentialRefused when it refused the credential (HTTP
    401, or the vendor's error text matching the source's `auth.refused`)."""
    if status == 401 or (auth and auth.refused and re.search(auth.refused, problem)):
        whose = f"the credential in ${auth.env}" if auth else "a request without a credential (no auth)"
        return CredentialRefused(f"{problem} -> the vendor refused {whose}: {source} stops")
    return VendorError(problem)


def refused_handshake(
    source: str, url: str, status: int, headers, body: bytes | None, auth: Auth | None = None
) -> float | None:
    """A stream's handshake answered with an HTTP status is treated as a GET would be: 429 and 5xx are
    retried (returns Retry-After seconds, if any, for the caller's backoff); any other is a VendorError."""
    if status == 429 or status >= 500:
        return server_delay(headers)
    problem = f"{source}: HTTP {status} from {where(url)} on the stream's handshake: {_message(body or b'')}"
    raise refusal(source, auth, problem, status)


def _message(body: bytes) -> str:
    """The vendor's error text (their JSON error/message field, else the body start)."""
    try:
        doc = parse_json(body)
    except BadRecord:
        return body[:200].decode("utf-8", "replace")
    if isinstance(doc, dict):
        for key in ("error", "message", "Error Message", "errors", "status"):
            if key in doc:
                return str(doc[key])[:200]
    return str(doc)[:200]
