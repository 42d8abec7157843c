"""The ``schema`` check: required, forbidden and typed columns of the dataset as read.

Types are compared as DuckDB spells them, after asking DuckDB what the expected name means
(``text`` and ``string`` are ``VARCHAR``, ``int4`` is ``INTEGER``, ``timestamptz`` is
``TIMESTAMP WITH TIME ZONE``), because every depot's data arrives here through DuckDB.
Forbidden column names may use ``*`` or ``%`` as wildcards; column indexes count from 0.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

import duckdb

from dataos_defs.manifest.stacks.soda import CheckConfig, SchemaRules
from dataos_defs.stacks.soda.model import Outcome, Severity
from dataos_defs.stacks.soda.sqltext import Unsupported

_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+(\s*,\s*\d+)?\s*\))?$")


@dataclass
class SchemaVerdict:
    outcome: Outcome
    severity: Severity
    problems: dict[str, list[str]] = field(default_factory=dict)
    """Per level (``fail``/``warn``), what is wrong, e.g. ``required column missing: a``."""

    @property
    def counts(self) -> dict[str, float | None]:
        return {f"schema {level} problems": float(len(p)) for level, p in self.problems.items()}


def check_schema(
    con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], config: CheckConfig
) -> SchemaVerdict:
    found: dict[str, list[str]] = {}
    for level in ("fail", "warn"):
        rules = getattr(config, level)
        if isinstance(rules, SchemaRules):
            found[level] = _problems(con, columns, rules)
    if found.get("fail"):
        return SchemaVerdict("fail", "fail", found)
    if found.get("warn"):
        return SchemaVerdict("warn", "warn", found)
    return SchemaVerdict("pass", "fail" if "fail" in found else "warn", found)


def _problems(
    con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], rules: SchemaRules
) -> list[str]:
    if rules.schema_changes is not None:
        raise Unsupported("'when schema changes' needs the schema of an earlier scan")
    types = {name.lower(): kind for name, kind in columns}
    index = {name.lower(): i for i, (name, _) in enumerate(columns)}
    out = [
        f"required column missing: {name}"
        for name in rules.required_missing or []
        if name.lower() not in types
    ]
    for pattern in rules.forbidden_present or []:
        wildcard = pattern.lower().replace("%", "*")
        out += [
            f"forbidden column present: {name}"
            for name, _ in columns
            if fnmatch.fnmatchcase(name.lower(), wildcard)
        ]
    for name, expected in (rules.wrong_type or {}).items():
        actual = types.get(name.lower())
        if actual is None:
            out.append(f"wrong column type: {name} is missing, expected {expected}")
        elif canonical_type(con, actual) != canonical_type(con, expected):
            out.append(f"wrong column type: {name} is {actual}, expected {expected}")
    for name, position in (rules.wrong_index or {}).items():
        actual_index = index.get(name.lower())
        if actual_index != position:
            where = "missing" if actual_index is None else f"at index {actual_index}"
            out.append(f"wrong column index: {name} is {where}, expected {position}")
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
