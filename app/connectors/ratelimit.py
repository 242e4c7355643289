"""Vendor request rates ("5/minute", "1000/second", "1000/day", "10000/month"). Second, minute and hour
rates are held in memory by the sliding-window RateLimiter below; daily and monthly ones are the vendor's
calendar quotas, counted per credential across restarts by app/connectors/quota.py."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque

SLIDING_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
CALENDAR_WINDOWS = ("day", "month")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\w+)\s*$")


def parse_rate(text: str) -> tuple[int, str]:
    """'5/minute' -> (5, 'minute'). Raises ValueError naming the allowed form and periods."""
    match = _RATE.match(str(text))
    periods = [*SLIDING_SECONDS, *CALENDAR_WINDOWS]
    if not match or int(match[1]) == 0 or match[2] not in periods:
        raise ValueError(f"rate must look like '5/minute' with a period in {', '.join(periods)}")
    return int(match[1]), match[2]


class RateLimiter:
    """At most `limit` acquisitions in any sliding window of `period` seconds, as vendors count quotas.

    A token bucket would let twice the quota through across a window boundary; the vendor would answer 429.
    """

    def __init__(self, limit: int, period: float, clock=time.monotonic) -> None:
        self.limit, self.period, self._clock = limit, period, clock
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    def delay(self) -> float:
        """Seconds until the next acquisition is allowed (0 when allowed now)."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - self.period:
            self._sent.popleft()
        return 0.0 if len(self._sent) < self.limit else self._sent[0] + self.period - now

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.delay()) > 0:
                await asyncio.sleep(wait)
            self._sent.append(self._clock())
