"""Which measures GX computes in DuckDB (``gx_sql``) and which on a pandas batch.

A measure runs in SQL only when GX's SQL results equal its pandas results: plain column
types (text, integers, floats; decimals for means and deviations, which DuckDB computes
as floats; timestamps for the latest and earliest value, which GX's SQL path reports as
ISO text and ``as_in_pandas`` turns back into a timestamp; no dates or booleans, whose
values GX returns as other Python types, or that DuckDB compares with text by casting), no
regexes (GX has none for this dialect), no derived columns but those DuckDB computes alike,
no row indexes (``complete``: SQL batches have no index), no quantiles (GX's SQL ones are
discrete), and value sets small enough to be bound as SQL parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from dataos_defs.stacks.soda.gx_engine import GxResult
from dataos_defs.stacks.soda.gx_suite import Measure
from dataos_defs.stacks.soda.relation import Relation

_KINDS = frozenset(
    {
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_unique_value_count_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_stdev_to_be_between",
    }
)
_NUMBERS = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "REAL", "DOUBLE"})
_NUMERIC_ONLY = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_stdev_to_be_between",
    }
)
"""Text columns stay on pandas for these: their errors and orderings are pandas'."""
_EXTREMES = frozenset({"expect_column_min_to_be_between", "expect_column_max_to_be_between"})
_FLOAT_RESULTS = frozenset(
    {"expect_column_mean_to_be_between", "expect_column_stdev_to_be_between"}
)
VALUE_SET_LIMIT = 1000
"""Values an in-set expectation may carry into SQL (each is a bound parameter)."""


def in_sql(measure: Measure, rel: Relation) -> bool:
    """Whether GX computes the measure in DuckDB (see the module's note)."""
    if set(measure.derived) - set(measure.derived_sql) or measure.complete or measure.whole:
        return False
    derived = {name.lower(): (name, "DOUBLE") for name in measure.derived_sql}
    extended = Relation(rel.sql, {**rel.columns, **derived})
    return all(_plain(expectation, extended) for expectation in measure.suite)


def _plain(expectation: object, rel: Relation) -> bool:
    kind = getattr(expectation, "expectation_type", None)
    if kind not in _KINDS:
        return False
    values = getattr(expectation, "value_set", None)
    if values is not None and len(values) > VALUE_SET_LIMIT:
        return False
    column = getattr(expectation, "column", None)
    if column is None:
        return True
    found = rel.columns.get(str(column).lower())
    if found is None:
        return False
    column_type = found[1].upper()
    if column_type.startswith("TIMESTAMP"):
        return kind in _EXTREMES
    if column_type.startswith("DECIMAL"):
        return kind in _FLOAT_RESULTS
    return column_type in _NUMBERS or (column_type == "VARCHAR" and kind not in _NUMERIC_ONLY)


def as_in_pandas(result: GxResult) -> GxResult:
    """The result as the pandas path reports it: a timestamp column's extreme as a
    timestamp, not the ISO text GX's SQL path makes of it."""
    if result.expectation in _EXTREMES and isinstance(result.observed, str):
        try:
            stamp = dt.datetime.fromisoformat(result.observed)
        except ValueError:
            return result
        return dataclasses.replace(result, observed=stamp)
    return result
