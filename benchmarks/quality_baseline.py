"""The soda stack's previous engine, kept as the quality benchmark's baseline (not product code).

Until the checks ran on Great Expectations, built-in SodaCL metrics were DuckDB SQL over the
checked relation; ``benchmarks/quality_gx.py`` times this against the GX path on the same
DuckDB view.

Semantics follow Soda Core: ``missing`` is NULL plus the configured ``missing values`` /
``missing regex`` / ``missing format``; ``invalid`` counts non-missing values that fail any
``valid ...`` rule or match an ``invalid ...`` rule; percentages are of all rows (0 on an
empty dataset). ``duplicate_count`` is the number of distinct non-NULL values (or value
combinations) that occur more than once; ``duplicate_percent`` is the share of non-NULL rows
carrying such a value.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from dataos_defs.manifest.stacks.soda import CheckConfig
from dataos_defs.manifest.stacks.sodacl import ParsedCheck
from dataos_defs.stacks.soda.formats import format_regex
from dataos_defs.stacks.soda.relation import Relation, age, is_numeric, number, scalar
from dataos_defs.stacks.soda.sqltext import CheckProblem, literal

_AGGREGATES = {
    "min": "min({})",
    "max": "max({})",
    "avg": "avg({})",
    "sum": "sum({})",
    "stddev": "stddev_samp({})",
    "stddev_pop": "stddev_pop({})",
    "stddev_samp": "stddev_samp({})",
    "variance": "var_samp({})",
    "var_pop": "var_pop({})",
    "var_samp": "var_samp({})",
    "min_length": "min(length(CAST({} AS VARCHAR)))",
    "max_length": "max(length(CAST({} AS VARCHAR)))",
    "avg_length": "avg(length(CAST({} AS VARCHAR)))",
}


def in_list(column: str, column_type: str, values: list[object]) -> str:
    """``column IN (...)``: numbers for numeric columns, else text comparison."""
    if is_numeric(column_type):
        numbers = [n for n in (_number(v) for v in values) if n is not None]
        return f"{column} IN ({', '.join(repr(n) for n in numbers)})" if numbers else "FALSE"
    if not values:
        return "FALSE"
    return f"CAST({column} AS VARCHAR) IN ({', '.join(literal(v) for v in values)})"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


def _matches(column: str, pattern: str) -> str:
    return f"regexp_matches(CAST({column} AS VARCHAR), {literal(pattern)})"


def _format(name: str) -> str:
    pattern = format_regex(name)
    if pattern is None:
        raise CheckProblem(f"unknown format '{name}' (see the SodaCL valid formats)")
    return pattern


def missing_condition(column: str, column_type: str, config: CheckConfig | None) -> str:
    parts = [f"{column} IS NULL"]
    if config is not None:
        if config.missing_values:
            parts.append(in_list(column, column_type, config.missing_values))
        if config.missing_regex:
            parts.append(_matches(column, config.missing_regex))
        if config.missing_format:
            parts.append(_matches(column, _format(config.missing_format)))
    return " OR ".join(f"COALESCE({p}, FALSE)" if i else p for i, p in enumerate(parts))


def valid_condition(column: str, column_type: str, config: CheckConfig | None) -> str:
    """True for a valid value; a check without any validity rule is a problem, as in Soda."""
    c = config or CheckConfig()
    rules: list[str] = []
    if c.valid_format:
        rules.append(_matches(column, _format(c.valid_format)))
    if c.valid_regex:
        rules.append(_matches(column, c.valid_regex))
    if c.valid_values is not None:
        rules.append(in_list(column, column_type, c.valid_values))
    number = f"TRY_CAST({column} AS DOUBLE)"
    if c.valid_min is not None:
        rules.append(f"{number} >= {c.valid_min!r}")
    if c.valid_max is not None:
        rules.append(f"{number} <= {c.valid_max!r}")
    length = f"length(CAST({column} AS VARCHAR))"
    for bound, op in (
        (c.valid_length, "="),
        (c.valid_min_length, ">="),
        (c.valid_max_length, "<="),
    ):
        if bound is not None:
            rules.append(f"{length} {op} {bound}")
    if c.invalid_values is not None:
        rules.append(f"NOT {in_list(column, column_type, c.invalid_values)}")
    if c.invalid_regex:
        rules.append(f"NOT {_matches(column, c.invalid_regex)}")
    if c.invalid_format:
        rules.append(f"NOT {_matches(column, _format(c.invalid_format))}")
    if not rules:
        raise CheckProblem(
            "an invalid_count/invalid_percent check needs a validity rule such as "
            "'valid format', 'valid regex', 'valid values', 'valid min' or 'valid length'"
        )
    return "COALESCE(" + " AND ".join(f"({r})" for r in rules) + ", FALSE)"


def _share(condition: str) -> str:
    share = f"100.0 * count(*) FILTER (WHERE {condition}) / count(*)"
    return f"CASE WHEN count(*) = 0 THEN 0 ELSE {share} END"


def metric_sql(rel: Relation, parsed: ParsedCheck, config: CheckConfig | None) -> str:
    """The query computing a built-in metric (freshness: the latest value)."""
    metric = parsed.metric or ""
    if metric == "row_count":
        return f"SELECT count(*) FROM {rel.sql}"
    if metric.startswith("duplicate_"):
        return _duplicates(rel, parsed)
    column, column_type = rel.column(parsed.columns[0])
    if metric.startswith("missing_"):
        missing = missing_condition(column, column_type, config)
        if metric == "missing_count":
            return f"SELECT count(*) FILTER (WHERE {missing}) FROM {rel.sql}"
        return f"SELECT {_share(missing)} FROM {rel.sql}"
    if metric.startswith("invalid_"):
        missing = missing_condition(column, column_type, config)
        invalid = f"NOT ({missing}) AND NOT {valid_condition(column, column_type, config)}"
        if metric == "invalid_count":
            return f"SELECT count(*) FILTER (WHERE {invalid}) FROM {rel.sql}"
        return f"SELECT {_share(invalid)} FROM {rel.sql}"
    if metric == "freshness":
        return f"SELECT max({column}) FROM {rel.sql}"
    if metric == "percentile":
        return f"SELECT quantile_cont({column}, {parsed.argument!r}) FROM {rel.sql}"
    template = _AGGREGATES.get(metric)
    if template is None:
        raise CheckProblem(f"no built-in metric '{metric}'")
    return f"SELECT {template.format(column)} FROM {rel.sql}"


def _duplicates(rel: Relation, parsed: ParsedCheck) -> str:
    columns = ", ".join(rel.column(c)[0] for c in parsed.columns)
    present = " AND ".join(f"{rel.column(c)[0]} IS NOT NULL" for c in parsed.columns)
    groups = (
        f"SELECT count(*) AS n FROM {rel.sql} WHERE {present} "
        f"GROUP BY {columns} HAVING count(*) > 1"
    )
    if parsed.metric == "duplicate_count":
        return f"SELECT count(*) FROM ({groups})"
    total = f"(SELECT count(*) FROM {rel.sql} WHERE {present})"
    return (
        f"SELECT CASE WHEN {total} = 0 THEN 0 "
        f"ELSE 100.0 * coalesce(sum(n), 0) / {total} END FROM ({groups})"
    )


def measure(
    con: duckdb.DuckDBPyConnection,
    rel: Relation,
    parsed: ParsedCheck,
    config: CheckConfig | None,
    now: dt.datetime,
) -> float | None:
    """The metric's value; ``None`` when there is none (``avg`` of no rows, ...)."""
    value = scalar(con, metric_sql(rel, parsed, config))
    if parsed.metric == "freshness":
        return None if value is None else age(value, now)
    return number(value, parsed.text)
