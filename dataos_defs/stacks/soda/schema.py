"""The ``schema`` check: required, forbidden, typed and placed columns of the dataset as read.

Presence and position are Great Expectations' ``ExpectColumnToExist`` (with
``column_index``, counting from 0) and the column list its ``ExpectTableColumnsToMatchSet``
observes, against which forbidden names (``*`` or ``%`` as wildcards) are matched. Types
stay hand-written: SodaCL names SQL types (``text``, ``int4``, ``timestamptz``) while the
GX batch holds pandas dtypes, so they are compared as DuckDB spells them, after asking
DuckDB what the expected name means, because every depot's data arrives through DuckDB.
Columns are matched case-insensitively, as SQL does.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from dataos_defs.manifest.stacks.soda import CheckConfig, SchemaRules
from dataos_defs.stacks.soda.gx_engine import GxResult, expectations
from dataos_defs.stacks.soda.gx_suite import Measure
from dataos_defs.stacks.soda.model import Outcome, Severity
from dataos_defs.stacks.soda.sqltext import Unsupported

_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+(\s*,\s*\d+)?\s*\))?$")
_LEVELS = ("fail", "warn")


@dataclass
class SchemaVerdict:
    outcome: Outcome
    severity: Severity
    problems: dict[str, list[str]] = field(default_factory=dict)
    """Per level (``fail``/``warn``), what is wrong, e.g. ``required column missing: a``."""

    @property
    def counts(self) -> dict[str, float | None]:
        return {f"schema {level} problems": float(len(p)) for level, p in self.problems.items()}


def _rules(config: CheckConfig) -> dict[str, SchemaRules]:
    found = {level: getattr(config, level) for level in _LEVELS}
    rules = {level: r for level, r in found.items() if isinstance(r, SchemaRules)}
    if any(r.schema_changes is not None for r in rules.values()):
        raise Unsupported("'when schema changes' needs the schema of an earlier scan")
    return rules


def schema_measure(config: CheckConfig, columns: list[tuple[str, str]]) -> Measure:
    """The observed column list, then one ``ExpectColumnToExist`` per required or placed
    column of each level; the value is the presence and position problems per level.

    GX observes the columns as a set, so they are listed in the dataset's order."""
    gxe = expectations()
    names = {name.lower(): name for name, _ in columns}
    suite: list[object] = [gxe.ExpectTableColumnsToMatchSet(column_set=[], exact_match=False)]
    asked: list[tuple[str, str, str, int | None]] = []
    for level, rules in _rules(config).items():
        for name in rules.required_missing or []:
            suite.append(gxe.ExpectColumnToExist(column=names.get(name.lower(), name)))
            asked.append((level, "required", name, None))
        for name, position in (rules.wrong_index or {}).items():
            column = names.get(name.lower(), name)
            suite.append(gxe.ExpectColumnToExist(column=column, column_index=position))
            asked.append((level, "index", name, position))

    def value(results: Sequence[GxResult]) -> dict[str, list[str]]:
        listed = results[0].observed
        seen = {str(c) for c in listed} if isinstance(listed, list) else set()
        observed = [name for name, _ in columns if name in seen]
        return _problems(config, observed, asked, results[1:])

    return Measure(list(suite), value, whole=True)


def _problems(
    config: CheckConfig,
    observed: list[str],
    asked: list[tuple[str, str, str, int | None]],
    results: Sequence[GxResult],
) -> dict[str, list[str]]:
    index = {name.lower(): i for i, name in enumerate(observed)}
    out: dict[str, list[str]] = {level: [] for level in _rules(config)}
    missing = {
        (level, kind, name): not result.success
        for (level, kind, name, _), result in zip(asked, results, strict=True)
    }
    for level, rules in _rules(config).items():
        out[level] += [
            f"required column missing: {name}"
            for name in rules.required_missing or []
            if missing[(level, "required", name)]
        ]
        for pattern in rules.forbidden_present or []:
            wildcard = pattern.lower().replace("%", "*")
            out[level] += [
                f"forbidden column present: {name}"
                for name in observed
                if fnmatch.fnmatchcase(name.lower(), wildcard)
            ]
    for level, kind, name, position in asked:
        if kind == "index" and missing[(level, kind, name)]:
            at = index.get(name.lower())
            where = "missing" if at is None else f"at index {at}"
            out[level].append(f"wrong column index: {name} is {where}, expected {position}")
    return out


def check_schema(
    con: duckdb.DuckDBPyConnection,
    columns: list[tuple[str, str]],
    config: CheckConfig,
    measured: dict[str, list[str]],
) -> SchemaVerdict:
    """The verdict: GX's presence and position problems plus the column type problems."""
    found: dict[str, list[str]] = {}
    for level, rules in _rules(config).items():
        typed = _type_problems(con, columns, rules)
        problems = measured.get(level, [])
        placed = [p for p in problems if p.startswith("wrong column index")]
        found[level] = [*(p for p in problems if p not in placed), *typed, *placed]
    if found.get("fail"):
        return SchemaVerdict("fail", "fail", found)
    if found.get("warn"):
        return SchemaVerdict("warn", "warn", found)
    return SchemaVerdict("pass", "fail" if "fail" in found else "warn", found)


def _type_problems(
    con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], rules: SchemaRules
) -> list[str]:
    types = {name.lower(): kind for name, kind in columns}
    out = []
    for name, expected in (rules.wrong_type or {}).items():
        actual = types.get(name.lower())
        if actual is None:
            out.append(f"wrong column type: {name} is missing, expected {expected}")
        elif canonical_type(con, actual) != canonical_type(con, expected):
            out.append(f"wrong column type: {name} is {actual}, expected {expected}")
    return out


def canonical_type(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """DuckDB's name for a type name, or the name upper-cased when DuckDB does not know it."""
    text = " ".join(name.split())
    if not _TYPE_NAME.match(text):
        return text.upper()
    try:
        rows = con.execute(f"DESCRIBE SELECT CAST(NULL AS {text}) AS t").fetchall()
    except duckdb.Error:
        return text.upper()
    return str(rows[0][1]).upper()
