"""One check of one input evaluated into a ``CheckResult``.

Built-in metrics, reference and schema checks are measured by Great Expectations
(``gx_batch``); ``failed rows``, user-defined metrics and ``same as`` are the user's own
SQL and run on the input's DuckDB connection. Every kind ends in the same place: a value
(or a schema verdict) judged against SodaCL's levels (``thresholds``). Anything that stops
a check from being computed (an unknown column, SQL DuckDB rejects, an unsupported
construct) yields a failed, not-evaluated result instead of raising, so one bad check never
hides the others; only unreadable datasets abort the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.manifest.stacks.soda import CheckConfig, SodaCheck
from dataos_defs.manifest.stacks.sodacl import ParsedCheck
from dataos_defs.stacks.soda import sqltext
from dataos_defs.stacks.soda.gx_batch import Measured, Outcome, measure_checks
from dataos_defs.stacks.soda.gx_engine import GxResult
from dataos_defs.stacks.soda.gx_sql import available, validate_sql
from dataos_defs.stacks.soda.gx_suite import Values, key
from dataos_defs.stacks.soda.model import CheckResult, Severity
from dataos_defs.stacks.soda.model import Outcome as Verdict
from dataos_defs.stacks.soda.relation import Relation, age, number, scalar
from dataos_defs.stacks.soda.schema import check_schema
from dataos_defs.stacks.soda.sqltext import CheckProblem, Unsupported
from dataos_defs.stacks.soda.thresholds import fmt, judge, levels, render_levels

REFERENCE_VALUES_LIMIT = 1_000_000
"""Distinct values a reference check compares with at most (they form GX's value set)."""
BATCH_ROWS_LIMIT = 50_000_000
"""Rows a pandas GX batch holds at most: it is a DataFrame in the step's memory (checks
GX measures in DuckDB read no batch)."""


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
    frames: dict[tuple[str | None, tuple[str, ...] | None], Any] = field(default_factory=dict)

    def relation(self, config: CheckConfig | None) -> Relation:
        sql = quote(self.view)
        if config is not None and config.filter:
            where = sqltext.condition(config.filter, "the check's filter")
            sql = f"(SELECT * FROM {sql} WHERE {where})"
        return Relation(sql, {n.lower(): (n, t) for n, t in self.columns})

    def frame(self, config: CheckConfig | None, columns: Sequence[str] | None = None) -> Any:
        """The batch a check reads: the view's ``columns`` (default: all), narrowed by the
        check's filter, as pandas."""
        where = config.filter if config is not None else None
        cached = (where, tuple(columns) if columns is not None else None)
        if cached not in self.frames:
            chosen = ", ".join(quote(c) for c in columns) if columns else "*"
            sql = f"SELECT {chosen} FROM {self.relation(config).sql}"
            try:
                rows = number(scalar(self.con, f"SELECT count(*) FROM ({sql})"), "row_count")
                if rows is not None and rows > BATCH_ROWS_LIMIT:
                    raise CheckProblem(
                        f"{int(rows)} rows exceed the {BATCH_ROWS_LIMIT} a batch may hold; "
                        "narrow the input with filter.where or the check with a filter"
                    )
                self.frames[cached] = self.con.sql(sql).df()
            except duckdb.Error as exc:
                raise CheckProblem(f"DuckDB rejected the check's filter: {exc}") from None
        return self.frames[cached]

    def sql(
        self, config: CheckConfig | None, suite: Sequence[Any], derived: Mapping[str, str]
    ) -> list[GxResult]:
        """GX's results for the suite, computed in DuckDB on the view narrowed by the
        check's filter (plus the ``derived`` columns), through this input's governed
        connection (``gx_sql``). A filter DuckDB rejects is reported as on pandas."""
        rel = self.relation(config)
        try:
            self.con.execute(f"SELECT * FROM {rel.sql} LIMIT 0")
        except duckdb.Error as exc:
            raise CheckProblem(f"DuckDB rejected the check's filter: {exc}") from None
        return validate_sql(self.con, rel.sql, suite, derived)

    def values(self, other_table: str) -> Values:
        """The distinct non-NULL values of columns of a dataset a reference check cites."""

        def of(columns: Any) -> list[Any]:
            table, other_columns = self.reference(other_table)
            rel = Relation(quote(table), {n.lower(): (n, t) for n, t in other_columns})
            names = [rel.name(c) for c in columns]
            selected = ", ".join(quote(n) for n in names)
            limit = REFERENCE_VALUES_LIMIT + 1
            sql = f"SELECT DISTINCT {selected} FROM {rel.sql} LIMIT {limit}"
            frame = self.con.sql(sql).df()
            found = (frame[names[0]] if len(names) == 1 else key(frame, names)).dropna()
            if len(found) > REFERENCE_VALUES_LIMIT:
                raise CheckProblem(
                    f"{other_table} has more than {REFERENCE_VALUES_LIMIT} distinct values "
                    "to compare with; filter it or check a smaller dataset"
                )
            return list(found.drop_duplicates().tolist())

        return of


def evaluate_all(scope: Scope, checks: list[SodaCheck]) -> list[CheckResult]:
    """Every check of the input, in order (the GX-measured ones validated together)."""
    sql = scope.sql if available() else None
    measured = measure_checks(checks, scope.relation(None), scope.frame, scope.values, sql)
    return [evaluate(scope, check, measured.get(check.index)) for check in checks]


def evaluate(scope: Scope, check: SodaCheck, measured: Outcome | None = None) -> CheckResult:
    parsed, config = check.parsed, check.config
    try:
        if isinstance(measured, CheckProblem):
            raise measured
        return _evaluate(scope, parsed, config, measured)
    except CheckProblem as exc:
        prefix = "unsupported: " if isinstance(exc, Unsupported) else "not evaluated: "
        return _result(scope, parsed, config, "fail", "fail", {}, None, prefix + str(exc), False)


def _evaluate(
    scope: Scope, parsed: ParsedCheck, config: CheckConfig | None, measured: Measured | None
) -> CheckResult:
    if parsed.kind == "failed_rows":
        return _judged(scope, parsed, config, _failed_rows(scope, parsed, config), "= 0")
    if parsed.kind == "same_as":
        return _same_as(scope, parsed, config)
    if parsed.user_defined:
        rel = scope.relation(config)
        return _judged(scope, parsed, config, _user_metric(scope, rel, parsed, config))
    if measured is None:
        raise CheckProblem(f"'{parsed.text}' was not measured")
    if parsed.kind == "schema":
        assert config is not None
        return _schema(scope, parsed, config, measured)
    raw = measured.value()
    if parsed.metric == "freshness":
        value = None if _absent(raw) else age(raw, scope.now)
    else:
        value = number(raw, parsed.text)
    default = "= 0" if parsed.kind == "reference" else None
    details = measured.details()
    return _judged(scope, parsed, config, value, default, details)


def _absent(value: object) -> bool:
    return value is None or str(value) in ("NaT", "nan", "<NA>")


def _schema(
    scope: Scope, parsed: ParsedCheck, config: CheckConfig, measured: Measured
) -> CheckResult:
    problems = measured.value()
    assert isinstance(problems, dict)
    verdict = check_schema(scope.con, scope.columns, config, problems)
    both = all(verdict.problems.get(level) for level in ("fail", "warn"))
    lines = [
        f"{level}: {p}" if both else p
        for level in ("fail", "warn")
        for p in verdict.problems.get(level, [])
    ]
    text = "; ".join(lines) or "the schema matches"
    return _result(
        scope,
        parsed,
        config,
        verdict.outcome,
        verdict.severity,
        verdict.counts,
        None,
        text,
        details=measured.details(),
    )


def _judged(
    scope: Scope,
    parsed: ParsedCheck,
    config: CheckConfig | None,
    value: float | None,
    default: str | None = None,
    details: Mapping[str, object] | None = None,
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
        return _result(
            scope, parsed, config, "fail", "fail", metrics, threshold, text, True, details
        )
    outcome, severity = judge(found, value)
    text = f"{label} = {fmt(value, unit)}, {threshold}"
    return _result(
        scope, parsed, config, outcome, severity, metrics, threshold, text, True, details
    )


def metric_label(parsed: ParsedCheck) -> str:
    """``missing_count(email)``, ``row_count``, or the check's kind for the others."""
    if parsed.kind == "reference":
        return f"values in ({', '.join(parsed.columns)}) missing from {parsed.other_table}"
    if parsed.kind == "failed_rows":
        return "failed rows"
    args = [*parsed.columns, *([fmt(parsed.argument)] if parsed.argument is not None else [])]
    return f"{parsed.metric}({', '.join(args)})" if args else str(parsed.metric)


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
    outcome: Verdict,
    severity: Severity,
    metrics: dict[str, float | None],
    threshold: str | None,
    explanation: str,
    evaluated: bool = True,
    details: Mapping[str, object] | None = None,
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
        details=dict(details or {}),
    )
