"""One check of one input evaluated into a ``CheckResult``.

Every kind ends in the same place: a value (or a schema verdict) judged against levels.
Anything that stops a check from being computed (an unknown column, SQL DuckDB rejects,
an unsupported construct) yields a failed, not-evaluated result instead of raising, so one
bad check never hides the others; only unreadable datasets abort the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.manifest.stacks.soda import CheckConfig, SodaCheck
from dataos_defs.manifest.stacks.sodacl import ParsedCheck
from dataos_defs.stacks.soda import sqltext
from dataos_defs.stacks.soda.metrics import Relation, measure, number, scalar
from dataos_defs.stacks.soda.model import CheckResult, Outcome, Severity
from dataos_defs.stacks.soda.schema import check_schema
from dataos_defs.stacks.soda.sqltext import CheckProblem, Unsupported
from dataos_defs.stacks.soda.thresholds import fmt, judge, levels, render_levels


@dataclass
class Scope:
    """An input being checked: its connection, view and how to load the datasets it cites."""

    con: duckdb.DuckDBPyConnection
    dataset: str
    view: str
    columns: list[tuple[str, str]]
    now: dt.datetime
    reference: Callable[[str], tuple[str, list[tuple[str, str]]]]
    """Other dataset name (as written in a check) -> its DuckDB table and columns."""

    def relation(self, config: CheckConfig | None) -> Relation:
        sql = quote(self.view)
        if config is not None and config.filter:
            where = sqltext.condition(config.filter, "the check's filter")
            sql = f"(SELECT * FROM {sql} WHERE {where})"
        return Relation(sql, {n.lower(): (n, t) for n, t in self.columns})


def evaluate(scope: Scope, check: SodaCheck) -> CheckResult:
    parsed, config = check.parsed, check.config
    try:
        return _evaluate(scope, parsed, config)
    except CheckProblem as exc:
        prefix = "unsupported: " if isinstance(exc, Unsupported) else "not evaluated: "
        return _result(scope, parsed, config, "fail", "fail", {}, None, prefix + str(exc), False)


def _evaluate(scope: Scope, parsed: ParsedCheck, config: CheckConfig | None) -> CheckResult:
    if parsed.kind == "schema":
        assert config is not None
        verdict = check_schema(scope.con, scope.columns, config)
        both = all(verdict.problems.get(level) for level in ("fail", "warn"))
        problems = [
            f"{level}: {p}" if both else p
            for level in ("fail", "warn")
            for p in verdict.problems.get(level, [])
        ]
        text = "; ".join(problems) or "the schema matches"
        return _result(
            scope, parsed, config, verdict.outcome, verdict.severity, verdict.counts, None, text
        )
    if parsed.kind == "reference":
        return _judged(scope, parsed, config, _reference(scope, parsed), "= 0")
    if parsed.kind == "failed_rows":
        return _judged(scope, parsed, config, _failed_rows(scope, parsed, config), "= 0")
    if parsed.kind == "same_as":
        return _same_as(scope, parsed, config)
    rel = scope.relation(config)
    if parsed.user_defined:
        value = _user_metric(scope, rel, parsed, config)
    else:
        value = measure(scope.con, rel, parsed, config, scope.now)
    return _judged(scope, parsed, config, value)


def _judged(
    scope: Scope,
    parsed: ParsedCheck,
    config: CheckConfig | None,
    value: float | None,
    default: str | None = None,
) -> CheckResult:
    found = levels(parsed, config, default)
    label = metric_label(parsed)
    metric = parsed.metric or ""
    unit = "seconds" if metric == "freshness" else "%" if metric.endswith("_percent") else None
    metrics = {label: value}
    threshold = render_levels(found) or None
    if not found:
        raise CheckProblem(f"'{parsed.text}' has no threshold")
    if value is None:
        text = f"{label} has no value (no rows to measure), {threshold}"
        return _result(scope, parsed, config, "fail", "fail", metrics, threshold, text)
    outcome, severity = judge(found, value)
    text = f"{label} = {fmt(value, unit)}, {threshold}"
    return _result(scope, parsed, config, outcome, severity, metrics, threshold, text)


def metric_label(parsed: ParsedCheck) -> str:
    """``missing_count(email)``, ``row_count``, or the check's kind for the others."""
    if parsed.kind == "reference":
        return f"values in ({', '.join(parsed.columns)}) missing from {parsed.other_table}"
    if parsed.kind == "failed_rows":
        return "failed rows"
    args = [*parsed.columns, *([fmt(parsed.argument)] if parsed.argument is not None else [])]
    return f"{parsed.metric}({', '.join(args)})" if args else str(parsed.metric)


def _reference(scope: Scope, parsed: ParsedCheck) -> float | None:
    """Rows whose (non-NULL) values are absent from the other dataset (present, if negated)."""
    assert parsed.other_table is not None
    table, other_columns = scope.reference(parsed.other_table)
    rel = scope.relation(None)
    other = Relation(quote(table), {n.lower(): (n, t) for n, t in other_columns})
    mine = [rel.column(c)[0] for c in parsed.columns]
    theirs = [other.column(c)[0] for c in parsed.other_columns]
    present = " AND ".join(f"s.{c} IS NOT NULL" for c in mine)
    match = " AND ".join(f"o.{t} = s.{c}" for c, t in zip(mine, theirs, strict=True))
    exists = f"EXISTS (SELECT 1 FROM {other.sql} o WHERE {match})"
    wanted = exists if parsed.negated else f"NOT {exists}"
    return number(
        scalar(scope.con, f"SELECT count(*) FROM {rel.sql} s WHERE {present} AND {wanted}"),
        parsed.text,
    )


def _failed_rows(scope: Scope, parsed: ParsedCheck, config: CheckConfig | None) -> float | None:
    assert config is not None
    rel = scope.relation(config)
    if config.fail_condition:
        where = sqltext.condition(config.fail_condition, "'fail condition'")
        sql = f"SELECT count(*) FROM {rel.sql} WHERE {where}"
    else:
        assert config.fail_query is not None
        sql = f"SELECT count(*) FROM ({sqltext.query(config.fail_query, 'fail query')})"
    return number(scalar(scope.con, sql), parsed.text)


def _user_metric(
    scope: Scope, rel: Relation, parsed: ParsedCheck, config: CheckConfig | None
) -> float | None:
    """``<metric> expression`` aggregates the relation; ``<metric> query`` runs as written
    (the checked dataset is a view named after it, e.g. ``customers_360``)."""
    assert config is not None and parsed.metric is not None
    if f"{parsed.metric} expression" in (config.model_extra or {}):
        what = f"'{parsed.metric} expression'"
        expr = sqltext.expression(config.user_metrics[parsed.metric], what)
        return number(scalar(scope.con, f"SELECT {expr} FROM {rel.sql}"), parsed.text)
    sql = sqltext.query(config.user_metrics[parsed.metric], f"'{parsed.metric} query'")
    return number(scalar(scope.con, sql), parsed.text)


def _same_as(scope: Scope, parsed: ParsedCheck, config: CheckConfig | None) -> CheckResult:
    assert parsed.other_table is not None
    table, _ = scope.reference(parsed.other_table)
    mine = number(scalar(scope.con, f"SELECT count(*) FROM {scope.relation(config).sql}"), "")
    theirs = number(scalar(scope.con, f"SELECT count(*) FROM {quote(table)}"), "")
    metrics = {"row_count": mine, f"row_count({parsed.other_table})": theirs}
    same = mine == theirs
    text = f"row_count = {fmt(mine)}, row_count of {parsed.other_table} = {fmt(theirs)}"
    threshold = f"same as {parsed.other_table}"
    return _result(
        scope, parsed, config, "pass" if same else "fail", "fail", metrics, threshold, text
    )


def _result(
    scope: Scope,
    parsed: ParsedCheck,
    config: CheckConfig | None,
    outcome: Outcome,
    severity: Severity,
    metrics: dict[str, float | None],
    threshold: str | None,
    explanation: str,
    evaluated: bool = True,
) -> CheckResult:
    attributes = config.attributes if config is not None else None
    return CheckResult(
        dataset=scope.dataset,
        name=(config.name if config is not None else None) or parsed.text,
        check=parsed.text,
        outcome=outcome,
        severity=severity,
        metrics=metrics,
        threshold=threshold,
        explanation=explanation,
        title=attributes.title if attributes else None,
        category=attributes.category if attributes else None,
        evaluated=evaluated,
    )
