"""A batch of processed ticks as the tick suite validates it, and the sinks' per-batch check."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pandas as pd

from app.metrics import PipelineMetrics
from app.quality import suites
from app.quality.validation import Validation, validate
from app.schemas.processed import TICK_COLUMNS

log = logging.getLogger(__name__)


def tick_frame(rows: list[tuple]) -> pd.DataFrame:
    """TICK_ROW tuples, in the order they arrived, with each symbol's previous tick time beside them."""
    frame = pd.DataFrame.from_records(rows, columns=list(TICK_COLUMNS))
    frame[suites.PREVIOUS_TIME] = frame.groupby("symbol", sort=False)["time"].shift()
    return frame


def check_batch(
    rows: list[tuple], dataset: str, metrics: PipelineMetrics | None, as_of: datetime | None = None
) -> Validation:
    """Validate a batch a sink writes and export its score; a failing batch is logged, never held back."""
    validation = validate(tick_frame(rows), suites.tick_suite(as_of or datetime.now(UTC)))
    if metrics is not None:
        metrics.quality(dataset, validation.score)
    for problem in validation.critical + validation.warnings:
        log.warning("%s batch of %d rows: %s", dataset, len(rows), problem)
    return validation
