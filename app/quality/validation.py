"""Validate a pandas batch against a suite (app/quality/suites.py) and score it.

The score (pipeline_data_quality_score) is the share of the batch's rows that pass every expectation:
an expectation about single rows fails the rows it names; a CRITICAL expectation about the whole batch
(its columns, its row count, the summary's tick total) fails every row. WARNING expectations about the
whole batch (freshness) are reported, not scored: a catch-up after an outage is stale but not wrong.

Great Expectations runs in one ephemeral (in-memory) context per process, with analytics and progress
bars off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

_lock = threading.Lock()
_context = None


def _gx_context():
    global _context
    with _lock:
        if _context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
                store_backend_defaults=InMemoryStoreBackendDefaults(),
            )
            _context = gx.get_context(mode="ephemeral", project_config=config)
            _context.data_sources.add_pandas("batches")
        return _context


def _batch(name: str, frame: pd.DataFrame):
    context = _gx_context()
    source = context.data_sources.get("batches")
    with _lock:
        try:
            asset = source.get_asset(name)
        except LookupError:
            asset = source.add_dataframe_asset(name)
            asset.add_batch_definition_whole_dataframe("whole")
    return asset.get_batch_definition("whole").get_batch(batch_parameters={"dataframe": frame})


@dataclass
class Validation:
    """One suite's result on one batch."""

    suite: str
    rows: int
    score: float
    critical: list[str]  # failed CRITICAL expectations, one line each
    warnings: list[str]  # failed WARNING/INFO expectations
    result: object  # great_expectations ExpectationSuiteValidationResult

    @property
    def passed(self) -> bool:
        return not self.critical

    def to_json(self) -> dict:
        return self.result.to_json_dict()

    def html(self) -> str:
        """The result as a Data Docs validation page (one self-contained HTML document)."""
        from great_expectations.render.renderer import ValidationResultsPageRenderer
        from great_expectations.render.view import DefaultJinjaPageView

        return DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(self.result))


def _describe(outcome) -> str:
    config = outcome.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format")}
    detail = outcome.result or {}
    counted = ""
    if "unexpected_count" in detail:
        counted = f": {detail['unexpected_count']} of {detail.get('element_count')} rows unexpected"
    elif "observed_value" in detail:
        counted = f": observed {detail['observed_value']!r}"
    if outcome.exception_info and outcome.exception_info.get("raised_exception"):
        counted = f": raised {outcome.exception_info.get('exception_message')}"
    return f"{config.type}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}){counted}"


def validate(frame: pd.DataFrame, suite, run_name: str | None = None) -> Validation:
    """`frame` against `suite` (an ExpectationSuite); never raises on bad data, only reports it.
    `run_name` names the run in the result and its Data Docs page (e.g. the day a summary is of)."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.metadata_types import FailureSeverity

    result = _batch(suite.name, frame).validate(suite, result_format={"result_format": "COMPLETE"})
    result.meta["run_id"] = RunIdentifier(run_name=run_name or suite.name, run_time=datetime.now(UTC))
    rows = len(frame)
    failing: set = set()
    critical, warnings, whole_batch_failed = [], [], False
    for outcome in result.results:
        if outcome.success:
            continue
        severity = outcome.expectation_config.severity
        (critical if severity == FailureSeverity.CRITICAL else warnings).append(_describe(outcome))
        indexes = (outcome.result or {}).get("unexpected_index_list")
        if indexes is not None:
            failing.update(indexes)
        elif severity == FailureSeverity.CRITICAL:
            whole_batch_failed = True
    score = 0.0 if whole_batch_failed or not rows else 1.0 - len(failing) / rows
    return Validation(suite.name, rows, score, critical, warnings, result)
