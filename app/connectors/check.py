"""What `wh connect --check` and `--list` say about the configured sources, from the configuration alone
(no network): each source's row, and the problems a valid-looking file can still hold.

Loading already refuses what is malformed (unknown adapter or topic, bad rate or schedule, a mapping
target that is no field of the topic's schema, sources sharing a key with different limits). On top of
that the check finds:
  - a polling source without a cursor (every poll would send everything again);
  - a schedule whose polls cannot all fit in the rate limit (a poll's requests take longer than the
    schedule allows), or sources sharing a key whose polls together would need more than its rate;
  - a daily or monthly quota that the polls of every source sharing the key would overspend.
Requests are counted at their most: every fan-out value and every page a poll may fetch.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel

from app.catalog import duration_ms
from app.connectors.config import SourceConfig
from app.connectors.ratelimit import SLIDING_SECONDS, parse_rate

DAY_S = 86_400
WINDOW_DAYS = {"day": 1, "month": 31}  # a month's budget must hold for the longest month


@dataclass(frozen=True)
class Row:
    source: str
    vendor: str
    adapter: str
    topic: str
    schedule: str
    quota: str
    credential: str


def _schedule(options: BaseModel) -> str | None:
    return getattr(options, "schedule", None)


def _requests_per_poll(options: BaseModel) -> int:
    count = getattr(options, "requests_per_poll", None)
    return count() if count else 1


def rows(sources: dict[str, tuple[SourceConfig, BaseModel]]) -> list[Row]:
    out = []
    for name, (config, options) in sources.items():
        schedule = _schedule(options)
        quota = config.rate_limit or "-"
        if config.calendar_quota() and config.quota:
            quota += f" (resets {config.quota.tz})"
        vendor = (config.vendor or "-") + (" [retired]" if config.retired else "")
        every = f"every {schedule}" if schedule else "stream"
        if schedule and _requests_per_poll(options) > 1:
            every += f", {_requests_per_poll(options)} requests"
        credential = config.auth.env if config.auth else "-"
        out.append(Row(name, vendor, config.adapter, config.topic, every, quota, credential))
    return out


def problems(sources: dict[str, tuple[SourceConfig, BaseModel]]) -> list[str]:
    found = []
    spend: dict[str, float] = defaultdict(float)  # credential -> requests per quota window
    windows: dict[str, tuple[int, str, list[str]]] = {}
    pace: dict[str, float] = defaultdict(float)  # credential -> requests per second, on average
    rates: dict[str, tuple[float, str, list[str]]] = {}
    for name, (config, options) in sources.items():
        schedule = _schedule(options)
        if schedule is None:
            continue
        if config.adapter == "rest" and options.cursor is None:
            found.append(f"{name}: a polling source without a cursor sends everything again every poll")
        per_poll = _requests_per_poll(options)
        every_s = duration_ms(schedule) / 1000
        if config.rate_limit:
            limit, period = parse_rate(config.rate_limit)
            if period in SLIDING_SECONDS:
                if per_poll / limit * SLIDING_SECONDS[period] > every_s:
                    found.append(
                        f"{name}: {per_poll} requests a poll take longer at {config.rate_limit} than its"
                        f" schedule of {schedule}"
                    )
                key = config.auth.env if config.auth else name
                pace[key] += per_poll / every_s
                rates.setdefault(key, (limit / SLIDING_SECONDS[period], config.rate_limit, []))[2].append(
                    name
                )
        declared = config.calendar_quota()
        if declared is not None:
            limit, period = parse_rate(declared[0])
            key = config.auth.env if config.auth else name
            spend[key] += per_poll * WINDOW_DAYS[period] * DAY_S / every_s
            windows.setdefault(key, (limit, period, []))[2].append(name)
    for key, used in pace.items():
        allowed, rate, users = rates[key]
        if len(users) > 1 and used > allowed:
            found.append(
                f"{key}: {', '.join(users)} poll for up to {used * 60:.1f} requests a minute together,"
                f" over its rate of {rate}"
            )
    for key, used in spend.items():
        limit, period, users = windows[key]
        if used > limit:
            found.append(
                f"{key}: {', '.join(users)} poll for up to {used:.0f} requests a {period}, over its quota of"
                f" {limit}"
            )
    return found


def credentials_missing(sources: dict[str, tuple[SourceConfig, BaseModel]]) -> dict[str, list[str]]:
    """Credential variable -> the sources that need it, for the variables unset in this environment."""
    missing: dict[str, list[str]] = defaultdict(list)
    for name, (config, _) in sources.items():
        if config.auth and not os.environ.get(config.auth.env):
            missing[config.auth.env].append(name)
    return dict(missing)
