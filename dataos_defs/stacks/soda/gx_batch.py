"""One input's checks run as few Great Expectations validations as possible.

The checks GX can measure in DuckDB (``gx_route``) run there, one suite per ``filter``, on
the governed view through the run's own connection (``gx_sql``): nothing is copied out.
The others (regexes, combined rules, schema, quantiles, values GX would report otherwise
in SQL) run on pandas: the checks sharing a ``filter`` share a batch (the input as read,
narrowed by DuckDB with the filter's SQL, as a pandas DataFrame) and one suite; the ones
that need every unexpected row's index run as a second suite with GX's ``COMPLETE``
result format. GX computes each metric once per batch, however many checks ask for it.
The batch holds only the columns the checks read (all of them for a schema check):
converting, fingerprinting and filtering a batch costs GX time per column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dataos_defs.manifest.stacks.soda import CheckConfig, SodaCheck
from dataos_defs.stacks.soda.gx_engine import SAMPLE_SIZE, GxResult, plain, validate
from dataos_defs.stacks.soda.gx_route import as_in_pandas, in_sql
from dataos_defs.stacks.soda.gx_suite import Measure, Values, plan
from dataos_defs.stacks.soda.relation import Relation
from dataos_defs.stacks.soda.schema import schema_measure
from dataos_defs.stacks.soda.sqltext import CheckProblem

Frames = Callable[[CheckConfig | None, Sequence[str] | None], Any]
"""A check's configuration and the columns read (None: all) -> the batch (``filter`` applied)."""
Sql = Callable[[CheckConfig | None, Sequence[Any], Mapping[str, str]], list[GxResult]]
"""A check's configuration, a suite and derived columns (name -> SQL) -> GX's results
computed in DuckDB on the governed view (``filter`` applied)."""


@dataclass(frozen=True)
class Measured:
    """A check's measure and GX's results for it."""

    measure: Measure
    results: tuple[GxResult, ...]

    def value(self) -> object:
        failed = [r for r in self.results if r.error is not None]
        if failed:
            raise CheckProblem(f"Great Expectations could not evaluate it: {failed[0].error}")
        return self.measure.value(self.results)

    def details(self) -> dict[str, object]:
        """What the asset check shows of GX's result: the expectations, the observed value,
        and for row-counting checks the unexpected rows and a few of their values."""
        out: dict[str, object] = {
            "gx/expectations": ", ".join(dict.fromkeys(r.expectation for r in self.results))
        }
        observed = self.results[0].observed if self.results else None
        if observed is not None and not isinstance(observed, list | dict):
            out["gx/observed_value"] = plain(observed)
        if self.measure.rows is not None:
            rows = self.measure.rows(self.results)
            out["gx/unexpected_count"] = len(rows)
            out["gx/unexpected_sample"] = [plain(rows[i]) for i in sorted(rows)[:SAMPLE_SIZE]]
        elif self.measure.samples:
            chosen = [self.results[i] for i in self.measure.samples]
            counted = [r.unexpected_count for r in chosen if r.unexpected_count is not None]
            if counted:
                out["gx/unexpected_count"] = sum(counted)
            out["gx/unexpected_sample"] = [v for r in chosen for v in r.sample][:SAMPLE_SIZE]
        return out


Outcome = Measured | CheckProblem


def measure_checks(
    checks: Sequence[SodaCheck],
    rel: Relation,
    frames: Frames,
    values: Callable[[str], Values],
    sql: Sql | None = None,
) -> dict[int, Outcome]:
    """Every GX-measured check of an input (by ``SodaCheck.index``): its results, or why it
    cannot be measured. Checks written in SQL (``failed rows``, user metrics, ``same as``)
    are not here. With ``sql``, the measures GX can compute in DuckDB run there
    (``gx_route``), the others on pandas batches of only the columns they read."""
    planned: dict[str | None, list[tuple[SodaCheck, Measure]]] = {}
    found: dict[int, Outcome] = {}
    for check in checks:
        try:
            measure = _plan(check, rel, values)
        except CheckProblem as exc:
            found[check.index] = exc
            continue
        if measure is not None:
            where = check.config.filter if check.config is not None else None
            planned.setdefault(where, []).append((check, measure))
    for items in planned.values():
        routed = [item for item in items if sql is not None and in_sql(item[1], rel)]
        rest = [item for item in items if not any(item is r for r in routed)]
        if routed and sql is not None:
            found.update(_run_sql(routed, sql))
        if rest:
            found.update(_run(rest, frames))
    return found


def _run_sql(items: list[tuple[SodaCheck, Measure]], sql: Sql) -> dict[int, Outcome]:
    """One suite computed in DuckDB for the checks sharing a filter."""
    suite = [e for _, m in items for e in m.suite]
    derived = {name: expr for _, m in items for name, expr in m.derived_sql.items()}
    try:
        results = iter(map(as_in_pandas, sql(items[0][0].config, suite, derived)))
    except CheckProblem as exc:
        return {check.index: exc for check, _ in items}
    return {
        check.index: Measured(measure, tuple(next(results) for _ in measure.suite))
        for check, measure in items
    }


def _plan(check: SodaCheck, rel: Relation, values: Callable[[str], Values]) -> Measure | None:
    parsed = check.parsed
    if parsed.kind == "schema":
        assert check.config is not None
        return schema_measure(check.config, [(n, t) for n, t in rel.columns.values()])
    if parsed.kind == "reference":
        assert parsed.other_table is not None
        return plan(parsed, check.config, rel, values(parsed.other_table))
    if parsed.kind == "metric" and not parsed.user_defined:
        return plan(parsed, check.config, rel, lambda _: [])
    return None


def _run(items: list[tuple[SodaCheck, Measure]], frames: Frames) -> dict[int, Outcome]:
    read = set().union(*(m.columns() for _, m in items))
    whole = any(m.whole for _, m in items) or not read
    try:
        frame = frames(items[0][0].config, None if whole else sorted(read))
    except CheckProblem as exc:
        return {check.index: exc for check, _ in items}
    derived = {name: make for _, m in items for name, make in m.derived.items()}
    if derived:
        frame = frame.assign(**{name: make(frame) for name, make in derived.items()})
    found: dict[int, Outcome] = {}
    for complete in (False, True):
        chosen = [(c, m) for c, m in items if m.complete is complete]
        suite = [e for _, m in chosen for e in m.suite]
        results = iter(validate(frame, suite, complete=complete))
        for check, measure in chosen:
            mine = tuple(next(results) for _ in measure.suite)
            found[check.index] = Measured(measure, mine)
    return found
