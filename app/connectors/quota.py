"""Daily and monthly vendor quotas, counted per credential in the connector state directory.

A vendor counts a key's requests over its own calendar window (a day or a month in its time zone), and so
does this: the count lives beside the cursors in `<VARIABLE>.quota.json`, named after the credential's
environment variable (never the secret), so a restart does not start from zero and every source and process
using the key draws on one budget. Each request takes one unit under an exclusive lock on the key's lock
file; the count file is replaced atomically. A spent budget makes the source wait for the reset, or stop
with QuotaExhausted when the reset is further away than the source's `quota.max_wait`.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from app.catalog import catalog, duration_ms
from app.connectors.config import SourceConfig
from app.connectors.cursor import replace_atomically
from app.connectors.ratelimit import parse_rate
from app.metrics import PipelineMetrics

log = logging.getLogger(__name__)


class QuotaExhausted(RuntimeError):
    """The key's budget is spent and its reset is further away than the source may wait."""


@dataclass(frozen=True)
class Window:
    limit: int
    period: str  # one of CALENDAR_WINDOWS
    tz: ZoneInfo

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """Start and end (the reset) of the window holding `now`: midnights in the vendor's zone."""
        local = now.astimezone(self.tz)
        if self.period == "day":
            first = local.date()
            after = first + timedelta(days=1)
        else:
            first = date(local.year, local.month, 1)
            after = date(local.year + local.month // 12, local.month % 12 + 1, 1)
        return self._midnight(first), self._midnight(after)

    def _midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz)


class QuotaStore:
    """The request counts of every key, one file per key in `directory` (the CursorStore's)."""

    def __init__(
        self, directory: Path | str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.directory, self.clock = Path(directory), clock
        self.directory.mkdir(parents=True, exist_ok=True)

    def take(self, key: str, window: Window) -> datetime | None:
        """One request from the key's budget: None when granted, else the moment the window resets."""
        start, reset = window.bounds(self.clock())
        with self._locked(key):
            used = self._used(key, start)
            if used >= window.limit:
                return reset
            state = {"window": start.isoformat(), "used": used + 1}
            replace_atomically(self._path(key), orjson.dumps(state))
        return None

    def used(self, key: str, window: Window) -> int:
        start, _ = window.bounds(self.clock())
        with self._locked(key):
            return self._used(key, start)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.quota.json"

    def _used(self, key: str, start: datetime) -> int:
        path = self._path(key)
        try:
            state = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return 0
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path}: corrupt quota file ({exc}); fix or delete it") from None
        if not isinstance(state, dict) or not isinstance(state.get("used"), int):
            raise ValueError(f"{path}: corrupt quota file (no 'used' count); fix or delete it")
        return state["used"] if state.get("window") == start.isoformat() else 0

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        # flock, not fcntl record locks: it also excludes a second open of the file in this same process.
        fd = os.open(self.directory / f".{key}.quota.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class Quota:
    """One source's draw on its key's budget: `acquire()` before every request to the vendor."""

    def __init__(
        self,
        source: str,
        key: str,
        window: Window,
        max_wait: str,
        store: QuotaStore,
        pipeline: str,
    ) -> None:
        """`pipeline`: the label of the gauge pipeline_connector_quota_remaining it keeps up to date."""
        self.source, self.key, self.window, self.store = source, key, window, store
        self.max_wait, self._max_wait_s = max_wait, duration_ms(max_wait) / 1000
        self.metrics = PipelineMetrics(pipeline)

    @classmethod
    def for_source(cls, config: SourceConfig, store: QuotaStore) -> Quota | None:
        """The source's daily/monthly quota, keyed by its credential variable (by its name when keyless)."""
        if (declared := config.calendar_quota()) is None:
            return None
        rate, settings = declared
        limit, period = parse_rate(rate)
        key = config.auth.env if config.auth else config.name
        window = Window(limit, period, ZoneInfo(settings.tz))
        return cls(config.name, key, window, settings.max_wait, store, catalog()[config.topic].pipeline)

    def describe(self) -> str:
        _, reset = self.window.bounds(self.store.clock())
        used = self.store.used(self.key, self.window)
        return f"{used} of {self._rate} used by {self.key}, resets at {reset.isoformat()}"

    @property
    def _rate(self) -> str:
        return f"{self.window.limit}/{self.window.period}"

    async def acquire(self) -> None:
        while (reset := self.store.take(self.key, self.window)) is not None:
            self.metrics.quota_remaining(self.source, 0)
            wait = (reset - self.store.clock()).total_seconds()
            if wait > self._max_wait_s:
                raise QuotaExhausted(
                    f"{self.source}: the {self._rate} quota of {self.key} is spent until {reset.isoformat()},"
                    f" further away than quota.max_wait {self.max_wait}: stopped before calling the vendor;"
                    " start it again after the reset"
                )
            log.warning(
                "%s: the %s quota of %s is spent; waiting until it resets at %s (%.0f s)",
                self.source,
                self._rate,
                self.key,
                reset.isoformat(),
                wait,
            )
            await asyncio.sleep(max(wait, 0.0))
        self.metrics.quota_remaining(self.source, self.window.limit - self.store.used(self.key, self.window))
