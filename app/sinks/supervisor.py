"""A load that outlives the services it writes to: when the database or the broker goes away, its loader
fails, and a new one starts after a growing delay, until `stop`.

Each new loader has a new lake writer and starts at the group's committed offsets, as a restarted pod
would: what the failed one had read since its last commit is read again, skipped by the database's key
and written to the lake under the same object names (app/sinks/timescale.py, app/sinks/lake.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from app.sinks.timescale import LoadStats, TableLoader

log = logging.getLogger(__name__)
FIRST_DELAY, MAX_DELAY = 0.5, 30.0  # seconds before a new loader; doubles per failure in a row
TRIES_AFTER_STOP = 3  # once stopping, a load that still cannot finish gives up after this many failures


@dataclass
class Supervised:
    stats: list[LoadStats]  # one per loader run, the last one's complete
    failures: list[str]  # why each failed run ended


def keep_loading(
    make_loader: Callable[[], TableLoader],
    stop: threading.Event,
    *,
    name: str,
    max_delay: float = MAX_DELAY,
) -> Supervised:
    """Run loaders from `make_loader` until one returns after `stop` (it read its topic to the end as of
    then); a failed one is logged and replaced (a loader that made progress resets the delay). Once `stop`
    is set, the TRIES_AFTER_STOP-th failure is raised."""
    result, delay, failed_stopping = Supervised([], []), FIRST_DELAY, 0
    while True:
        loader = make_loader()
        try:
            result.stats.append(loader.run(stop))
            return result
        except Exception as exc:  # the database or broker went away, or a commit could not be made
            result.stats.append(loader.stats)
            reason = f"{type(exc).__name__}: {exc}"
            result.failures.append(reason)
            failed_stopping += stop.is_set()
            if failed_stopping >= TRIES_AFTER_STOP:
                raise
            delay = FIRST_DELAY if loader.stats.consumed else min(delay * 2, max_delay)
            log.warning("%s: the loader stopped (%s); a new one in %.1fs", name, reason, delay)
        stop.wait(delay)
