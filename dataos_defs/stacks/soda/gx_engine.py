"""Great Expectations 1.x runs the soda stack's expectation suites on pandas batches.

One ephemeral context per process (``gx.get_context(mode="ephemeral")``: nothing on disk,
no usage statistics, no progress bars), built on first use, with one pandas data source
whose batch definition takes a whole DataFrame at run time. A suite is validated by GX's
V1 ``Validator`` on it, as ``ValidationDefinition.run`` does, without persisting the suite
or storing the results in the context (GX fingerprints the DataFrame once that way, twice
through ``read_dataframe(...).validate``).
``import great_expectations`` costs seconds, so the code location's step server preloads
it (``preload``) before it forks the step processes; a process that did not preload pays
it once, never per check.

Batches are pandas DataFrames of what the run read through its governed depot access (see
``runner``), or the run's governed DuckDB view itself when GX computes the metrics in SQL
(``gx_sql``): ``results_of`` validates a suite on either.
"""

from __future__ import annotations

import importlib
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

SAMPLE_SIZE = 5
"""Unexpected values kept per check (GX's ``partial_unexpected_count``)."""
SAMPLE_TEXT = 64
"""Characters kept of one sampled value."""
_KEY = "soda"
_GROUPS_WARNING = "This pattern is interpreted as a regular expression, and has match groups"
"""pandas' note on GX's regex matching: format regexes group alternatives, nothing else."""
_ANALYTICS = "GX_ANALYTICS_ENABLED"
"""Unless set otherwise, GX sends no usage events (a run's checks stay on the machine)."""


@dataclass(frozen=True)
class GxResult:
    """What the soda stack takes from one expectation's validation result."""

    expectation: str
    """The expectation's type, e.g. ``expect_column_values_to_not_be_null``."""
    success: bool
    observed: object
    unexpected_count: int | None
    element_count: int | None
    missing_count: int | None
    sample: tuple[object, ...]
    unexpected: Mapping[int, object] | None
    """Every unexpected row's index -> value, when the suite ran with ``complete=True``."""
    error: str | None
    """Why GX could not evaluate it (e.g. a type it cannot aggregate)."""


@cache
def _context() -> Any:
    os.environ.setdefault(_ANALYTICS, "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@cache
def _whole_dataframe() -> Any:
    """The batch definition every validation reads: a whole DataFrame given at run time."""
    source = _context().data_sources.add_pandas(_KEY)
    return source.add_dataframe_asset(_KEY).add_batch_definition_whole_dataframe(_KEY)


def preload() -> None:
    """Import GX without building anything (5-9 s), for a process that will validate many
    suites (tests, benchmarks); a soda step imports it on first use instead (see
    ``dataos_defs.location.preload`` for why the step server does not)."""
    os.environ.setdefault(_ANALYTICS, "False")
    importlib.import_module("great_expectations.expectations")


def expectations() -> Any:
    """The ``great_expectations.expectations`` module (imported on first use)."""
    _context()
    import great_expectations.expectations as gxe

    return gxe


def expectations_context() -> Any:
    """The process's ephemeral GX context (built on first use)."""
    return _context()


def validate(frame: Any, suite: Sequence[Any], *, complete: bool = False) -> list[GxResult]:
    """Validate the expectations on the DataFrame; one result per expectation, in order.

    ``complete`` asks GX for every unexpected row's index (needed to combine the rows of
    several expectations); otherwise GX counts and keeps a small sample.
    """
    if not suite:
        return []
    _context()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _GROUPS_WARNING, UserWarning)
        return results_of(_whole_dataframe(), suite, complete=complete, data={"dataframe": frame})


def results_of(
    batch: Any, suite: Sequence[Any], *, complete: bool, data: Mapping[str, Any] | None = None
) -> list[GxResult]:
    """Validate the suite on a batch definition's batch (``data``: its batch parameters)."""
    import great_expectations as gx
    from great_expectations.validator.v1_validator import Validator

    tagged = list(suite)
    for i, expectation in enumerate(tagged):
        expectation.meta = {_KEY: i}
    result_format = {
        "result_format": "COMPLETE" if complete else "SUMMARY",
        "partial_unexpected_count": SAMPLE_SIZE,
    }
    validator = Validator(batch, result_format, dict(data) if data is not None else None)
    validation = validator.validate_expectation_suite(gx.ExpectationSuite(_KEY, tagged))
    found: dict[int, GxResult] = {}
    for item in validation.results:
        config = item.expectation_config
        assert config is not None and config.meta is not None, "GX returns what it validated"
        found[int(config.meta[_KEY])] = _result(
            config.type, bool(item.success), item.result, item.exception_info
        )
    return [found[i] for i in range(len(tagged))]


def _result(
    kind: str, success: bool, result: Mapping[str, Any], exception: Mapping[str, Any]
) -> GxResult:
    error = None
    if exception and exception.get("raised_exception"):
        error = str(exception.get("exception_message") or "GX raised an error")
    elif not result and exception:
        inner = [v for v in exception.values() if isinstance(v, Mapping)]
        if any(v.get("raised_exception") for v in inner):
            error = next(
                str(v.get("exception_message")) for v in inner if v.get("raised_exception")
            )
    indexes = result.get("unexpected_index_list")
    values = result.get("unexpected_list") or []
    return GxResult(
        expectation=kind,
        success=success,
        observed=result.get("observed_value"),
        unexpected_count=_int(result.get("unexpected_count")),
        element_count=_int(result.get("element_count")),
        missing_count=_int(result.get("missing_count")),
        sample=tuple(plain(v) for v in result.get("partial_unexpected_list") or ()),
        unexpected=(
            dict(zip((int(i) for i in indexes), values, strict=False))
            if indexes is not None
            else None
        ),
        error=error,
    )


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def plain(value: object) -> object:
    """A value as JSON shows it: numpy scalars unwrapped, NaN/NaT as None, long text cut."""
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text in ("NaT", "<NA>"):
        return None
    return text if len(text) <= SAMPLE_TEXT else text[: SAMPLE_TEXT - 1] + "…"
