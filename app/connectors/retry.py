"""Retry timing: exponential backoff with full jitter, and the server's word when it gives one: Retry-After
(RFC 9110), else the reset time of its rate-limit window (X-RateLimit-Reset and kin)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    cap: float = 60.0
    max_attempts: int = 6

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before retry number `attempt` (1-based). Retry-After wins: the server knows its quota."""
        if retry_after is not None:
            return retry_after + random.uniform(0, self.base)
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date (RFC 9110); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


# Where vendors say when a rate-limit window resets, when they send no Retry-After: X and Finnhub send epoch
# seconds (x-rate-limit-reset, X-Ratelimit-Reset), Reddit the seconds left (X-Ratelimit-Reset), the IETF
# draft the seconds left (RateLimit-Reset). A number past 10^9 is read as epoch seconds, else as seconds left.
RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
_EPOCH_SECONDS = 1_000_000_000


def server_delay(headers, now: float | None = None) -> float | None:
    """Seconds the server asks a client to wait (Retry-After, else a rate-limit reset header), or None."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    for name in RESET_HEADERS:
        value = headers.get(name)
        try:
            reset = float(value) if value is not None else None
        except ValueError:
            continue
        if reset is not None:
            if reset > _EPOCH_SECONDS:
                return max(0.0, reset - (time.time() if now is None else now))
            return max(0.0, reset)
    return None
