"""SodaCL metric checks as Great Expectations expectations, and their metric out of the results.

Each check becomes a ``Measure``: the built-in expectations that measure it and how its
SodaCL metric follows from their results. Bounds are left open: GX measures, SodaCL's
levels judge (``thresholds``), because one check may carry a warn and a fail level.
Where SodaCL counts rows failing *any* of several rules (``valid format`` and ``valid
values``, ``missing values`` excluded from ``invalid``), the suite asks GX for the
unexpected rows' indexes and the rows are combined as sets. Lengths and multi-column keys
are derived columns of the batch (pandas; lengths of text also as DuckDB SQL, for the
SQL path), which GX's aggregate and map expectations read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.manifest.stacks.soda import CheckConfig
from dataos_defs.manifest.stacks.sodacl import ParsedCheck
from dataos_defs.stacks.soda.formats import format_regex
from dataos_defs.stacks.soda.gx_engine import GxResult, expectations
from dataos_defs.stacks.soda.relation import Relation, is_numeric
from dataos_defs.stacks.soda.sqltext import CheckProblem

_DERIVED = "__soda_"
_AGGREGATES = {
    "min": "ExpectColumnMinToBeBetween",
    "max": "ExpectColumnMaxToBeBetween",
    "avg": "ExpectColumnMeanToBeBetween",
    "sum": "ExpectColumnSumToBeBetween",
    "stddev": "ExpectColumnStdevToBeBetween",
    "stddev_samp": "ExpectColumnStdevToBeBetween",
    "min_length": "ExpectColumnMinToBeBetween",
    "max_length": "ExpectColumnMaxToBeBetween",
    "avg_length": "ExpectColumnMeanToBeBetween",
}
_VARIANCES = ("variance", "var_samp", "var_pop", "stddev_pop")
Values = Callable[[Sequence[str]], list[Any]]
"""A reference check's other dataset: its columns -> their distinct non-NULL values."""


@dataclass
class Measure:
    """The expectations of one check and how its SodaCL metric comes out of their results."""

    suite: list[Any]
    value: Callable[[Sequence[GxResult]], object]
    derived: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    """Columns added to the batch: name -> DataFrame -> Series."""
    complete: bool = False
    """The value needs every unexpected row's index (several rules combined)."""
    samples: tuple[int, ...] = ()
    """The results whose unexpected values make the check's sample."""
    rows: Callable[[Sequence[GxResult]], dict[int, object]] | None = None
    """For a ``complete`` measure, the check's own unexpected rows (index -> value)."""
    whole: bool = False
    """The measure reads every column of the batch (a schema check)."""
    reads: tuple[str, ...] = ()
    """The dataset's columns the derived columns are made of."""
    derived_sql: dict[str, str] = field(default_factory=dict)
    """The derived columns as DuckDB computes them identically (name -> SQL expression),
    where it does: a measure with all of them can run in SQL (``gx_route``)."""

    def columns(self) -> set[str]:
        """The dataset's columns the measure reads (derived ones excluded)."""
        named = {str(e.column) for e in self.suite if getattr(e, "column", None)}
        return (named - set(self.derived)) | set(self.reads)


def plan(parsed: ParsedCheck, config: CheckConfig | None, rel: Relation, values: Values) -> Measure:
    """The measure of a built-in metric, reference or schema check (``CheckProblem`` if none)."""
    gxe = expectations()
    metric = parsed.metric or ""
    if parsed.kind == "reference":
        return _reference(parsed, rel, values)
    if metric == "row_count":
        return Measure([gxe.ExpectTableRowCountToBeBetween()], lambda r: r[0].observed)
    if metric.startswith("duplicate_"):
        return _duplicates(metric, [rel.name(c) for c in parsed.columns])
    name = rel.name(parsed.columns[0])
    column_type = rel.columns[name.lower()][1]
    if metric.startswith("missing_"):
        return _missing(metric, name, column_type, config)
    if metric.startswith("invalid_"):
        return _invalid(metric, name, column_type, config)
    if metric == "freshness":
        return Measure([gxe.ExpectColumnMaxToBeBetween(column=name)], lambda r: r[0].observed)
    if metric == "percentile":
        return _percentile(name, parsed.argument or 0.0)
    if metric in _VARIANCES:
        return _variance(metric, name)
    kind = _AGGREGATES.get(metric)
    if kind is None:
        raise CheckProblem(f"no built-in metric '{metric}'")
    if metric.endswith("_length"):
        derived = f"{_DERIVED}length_{name}"
        aggregate = getattr(gxe, kind)(column=derived)
        lengths = {derived: _lengths(name)}
        measure = Measure([aggregate], lambda r: r[0].observed, lengths, reads=(name,))
        if column_type.upper() == "VARCHAR":
            measure.derived_sql[derived] = f"CAST(length({quote(name)}) AS DOUBLE)"
        return measure
    return Measure([getattr(gxe, kind)(column=name)], lambda r: r[0].observed)


def _lengths(name: str) -> Callable[[Any], Any]:
    return lambda frame: frame[name].astype("string").str.len().astype("float64")


def _share(count: float, rows: int | None) -> float:
    """A percentage of all rows, 0 on an empty dataset (as Soda)."""
    return 0.0 if not rows else 100.0 * count / rows


def _unexpected_rows(results: Sequence[GxResult]) -> dict[int, object]:
    """The rows any of the results found unexpected: index -> value."""
    rows: dict[int, object] = {}
    for result in results:
        rows.update(result.unexpected or {})
    return rows


def _count(result: GxResult) -> int:
    if result.unexpected_count is None:
        raise CheckProblem(f"{result.expectation} counted no unexpected rows")
    return result.unexpected_count


def _missing(metric: str, name: str, column_type: str, config: CheckConfig | None) -> Measure:
    """NULLs plus the values ``missing values|regex|format`` declare missing."""
    rules = _missing_rules(name, column_type, config)
    suite = [expectations().ExpectColumnValuesToNotBeNull(column=name), *rules]

    def declared(results: Sequence[GxResult]) -> dict[int, object]:
        return _unexpected_rows(results[1:])

    def value(results: Sequence[GxResult]) -> float:
        extra = len(declared(results)) if len(rules) > 1 else sum(map(_count, results[1:]))
        count = _count(results[0]) + extra
        return count if metric == "missing_count" else _share(count, results[0].element_count)

    complete = len(rules) > 1
    samples = tuple(range(1, len(suite)))
    return Measure(suite, value, {}, complete, samples, declared if complete else None)


def _missing_rules(name: str, column_type: str, config: CheckConfig | None) -> list[Any]:
    gxe, c = expectations(), config or CheckConfig()
    rules: list[Any] = []
    if c.missing_values:
        values = _typed(column_type, c.missing_values)
        rules.append(gxe.ExpectColumnValuesToNotBeInSet(column=name, value_set=values))
    for regex in (c.missing_regex, c.missing_format and _format(c.missing_format)):
        if regex:
            rules.append(gxe.ExpectColumnValuesToNotMatchRegex(column=name, regex=regex))
    return rules


def _invalid(metric: str, name: str, column_type: str, config: CheckConfig | None) -> Measure:
    """Non-missing values failing any validity rule."""
    rules, derived = _validity_rules(name, column_type, config)
    missing = _missing_rules(name, column_type, config)
    complete = len(rules) > 1 or bool(missing)

    def invalid(results: Sequence[GxResult]) -> dict[int, object]:
        rows = _unexpected_rows(results[: len(rules)])
        declared = _unexpected_rows(results[len(rules) :])
        return {i: v for i, v in rows.items() if i not in declared}

    def value(results: Sequence[GxResult]) -> float:
        count = len(invalid(results)) if complete else _count(results[0])
        return count if metric == "invalid_count" else _share(count, results[0].element_count)

    samples = tuple(range(len(rules)))
    rows = invalid if complete else None
    suite = [*rules, *missing]
    return Measure(suite, value, derived, complete, samples, rows, reads=(name,))


def _validity_rules(
    name: str, column_type: str, config: CheckConfig | None
) -> tuple[list[Any], dict[str, Callable[[Any], Any]]]:
    gxe, c = expectations(), config or CheckConfig()
    rules: list[Any] = []
    derived: dict[str, Callable[[Any], Any]] = {}
    for regex in (c.valid_format and _format(c.valid_format), c.valid_regex):
        if regex:
            rules.append(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=regex))
    if c.valid_values is not None:
        values = _typed(column_type, c.valid_values)
        rules.append(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=values))
    if c.valid_min is not None or c.valid_max is not None:
        if not is_numeric(column_type):
            raise CheckProblem(
                f"'valid min' and 'valid max' compare numbers; {name} is {column_type}"
            )
        rules.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=name, min_value=c.valid_min, max_value=c.valid_max
            )
        )
    if (
        c.valid_length is not None
        or c.valid_min_length is not None
        or c.valid_max_length is not None
    ):
        text = name if column_type.upper() == "VARCHAR" else f"{_DERIVED}text_{name}"
        if text != name:
            derived[text] = lambda frame: frame[name].astype("string")
        if c.valid_length is not None:
            rules.append(gxe.ExpectColumnValueLengthsToEqual(column=text, value=c.valid_length))
        if c.valid_min_length is not None or c.valid_max_length is not None:
            rules.append(
                gxe.ExpectColumnValueLengthsToBeBetween(
                    column=text, min_value=c.valid_min_length, max_value=c.valid_max_length
                )
            )
    if c.invalid_values is not None:
        values = _typed(column_type, c.invalid_values)
        rules.append(gxe.ExpectColumnValuesToNotBeInSet(column=name, value_set=values))
    for regex in (c.invalid_regex, c.invalid_format and _format(c.invalid_format)):
        if regex:
            rules.append(gxe.ExpectColumnValuesToNotMatchRegex(column=name, regex=regex))
    if not rules:
        raise CheckProblem(
            "an invalid_count/invalid_percent check needs a validity rule such as "
            "'valid format', 'valid regex', 'valid values', 'valid min' or 'valid length'"
        )
    return rules, derived


def _typed(column_type: str, values: list[Any]) -> list[Any]:
    """Values as the column holds them: numbers for numeric columns (others never match),
    else text (booleans as DuckDB prints them)."""
    if not is_numeric(column_type):
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return [n for n in map(_as_number, values) if n is not None]


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


def _format(name: str) -> str:
    pattern = format_regex(name)
    if pattern is None:
        raise CheckProblem(f"unknown format '{name}' (see the SodaCL valid formats)")
    return pattern


def _duplicates(metric: str, names: list[str]) -> Measure:
    """GX counts rows carrying a repeated value (U) and distinct values (D): of N non-NULL
    rows, N - U values occur once, so D - (N - U) values occur more than once."""
    gxe = expectations()
    column, derived = names[0], {}
    if len(names) > 1:
        column = f"{_DERIVED}key_{'_'.join(names)}"
        derived[column] = lambda frame: key(frame, names)
    suite = [
        gxe.ExpectColumnValuesToBeUnique(column=column),
        gxe.ExpectColumnUniqueValueCountToBeBetween(column=column),
    ]

    def value(results: Sequence[GxResult]) -> float:
        unique, distinct = results
        repeated = _count(unique)
        present = (unique.element_count or 0) - (unique.missing_count or 0)
        if metric == "duplicate_percent":
            return _share(repeated, present)
        return float(int(str(distinct.observed)) - (present - repeated))

    return Measure(suite, value, derived, samples=(0,), reads=tuple(names))


def key(frame: Any, names: Sequence[str]) -> Any:
    """One text column of several columns' values; NULL where any of them is NULL."""
    parts = [frame[n].astype("string") for n in names]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "\x1f" + part
    return joined


def _percentile(name: str, fraction: float) -> Measure:
    ranges = {"quantiles": [fraction], "value_ranges": [[None, None]]}
    quantile = expectations().ExpectColumnQuantileValuesToBeBetween(
        column=name, quantile_ranges=ranges, allow_relative_error="linear"
    )
    return Measure([quantile], lambda r: _first_quantile(r[0].observed))


def _first_quantile(observed: object) -> object:
    values = observed.get("values") if isinstance(observed, dict) else None
    return values[0] if values else None


def _variance(metric: str, name: str) -> Measure:
    """From GX's sample standard deviation; population ones rescaled by the non-NULL rows."""
    gxe = expectations()
    suite = [
        gxe.ExpectColumnStdevToBeBetween(column=name),
        gxe.ExpectColumnValuesToNotBeNull(column=name),
    ]

    def value(results: Sequence[GxResult]) -> float | None:
        stdev, counted = results
        if stdev.observed is None:
            return None
        present = (counted.element_count or 0) - _count(counted)
        variance = float(str(stdev.observed)) ** 2
        if metric in ("var_pop", "stddev_pop"):
            variance = variance * (present - 1) / present if present else float("nan")
        return variance**0.5 if metric == "stddev_pop" else variance

    return Measure(suite, value)


def _reference(parsed: ParsedCheck, rel: Relation, values: Values) -> Measure:
    """Rows whose (non-NULL) values are absent from the other dataset (present, if negated)."""
    gxe = expectations()
    names = [rel.name(c) for c in parsed.columns]
    column, derived = names[0], {}
    if len(names) > 1:
        column = f"{_DERIVED}key_{'_'.join(names)}"
        derived[column] = lambda frame: key(frame, names)
    other = values(parsed.other_columns)
    kind = gxe.ExpectColumnValuesToNotBeInSet if parsed.negated else gxe.ExpectColumnValuesToBeInSet
    suite = [kind(column=column, value_set=other)]
    return Measure(suite, lambda r: _count(r[0]), derived, samples=(0,), reads=tuple(names))
