"""Vendor request quotas ("5/minute", "1000/day", "10000/month", "1000/second") as an async limiter."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque

PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "month": 30 * 86_400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day|month)\s*$")


def parse_rate(text: str) -> tuple[int, float]:
    """'5/minute' -> (5, 60.0). Raises ValueError naming the allowed form."""
    match = _RATE.match(str(text))
    if not match or int(match[1]) == 0:
        raise ValueError(f"rate must look like '5/minute' with a period in {', '.join(PERIOD_SECONDS)}")
    return int(match[1]), float(PERIOD_SECONDS[match[2]])


class RateLimiter:
    """At most `limit` acquisitions in any sliding window of `period` seconds, as vendors count quotas.

    A token bucket would let twice the quota through across a window boundary; the vendor would answer 429.
    """

    def __init__(self, limit: int, period: float, clock=time.monotonic) -> None:
        self.limit, self.period, self._clock = limit, period, clock
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    @classmethod
    def parse(cls, text: str) -> RateLimiter:
        return cls(*parse_rate(text))

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
