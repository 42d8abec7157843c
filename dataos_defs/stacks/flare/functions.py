"""Flare's built-in functions as SQL over the previous relation.

Each function becomes one ``SELECT`` with an explicit column list over the relation before
it, so DuckDB plans the whole step at once and sqlglot can trace column lineage through the
functions as through any other SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlglot import exp

from dataos_defs.manifest.stacks.flare_parts import Function
from dataos_defs.stacks.flare.model import FlareError
from dataos_defs.stacks.flare.sql import column_type

Columns = Sequence[tuple[str, str]]
"""``(name, DuckDB type)`` of a relation, in order."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    return exp.convert(value).sql(dialect="duckdb")


def snake(name: str) -> str:
    """``FirstName`` / ``First Name`` / ``first-name`` -> ``first_name``.

    >>> [snake(n) for n in ("FirstName", "First Name", "order-ID", "HTTPCode")]
    ['first_name', 'first_name', 'order_id', 'http_code']
    """
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


class _Call:
    """One function applied to a relation with known columns."""

    def __init__(self, fn: Function, columns: Columns, where: str) -> None:
        self.fn = fn
        self.columns = list(columns)
        self.where = f"{where}, function '{fn.name}'"
        self._by_lower = {name.lower(): name for name, _ in self.columns}

    def fail(self, problem: str) -> FlareError:
        return FlareError(self.where, problem)

    def column(self, name: str) -> str:
        """The relation's spelling of ``name`` (Spark resolves columns case-insensitively)."""
        found = self._by_lower.get(name.lower())
        if found is None:
            known = ", ".join(n for n, _ in self.columns)
            raise self.fail(f"no column '{name}' (columns: {known})")
        return found

    def names(self) -> list[str]:
        value = self.fn.columns
        if value is None:
            raise self.fail("needs 'columns' (a list of column names)")
        items = [value] if isinstance(value, str) else list(value)
        return [self.column(str(item)) for item in items]

    def mapping(self) -> dict[str, Any]:
        value = self.fn.columns
        if not isinstance(value, dict) or not value:
            raise self.fail("needs 'columns' as a mapping (column: value)")
        return {self.column(str(k)): v for k, v in value.items()}

    def type_of(self, name: str) -> str:
        return dict(self.columns)[name]


def _select(items: Sequence[str], query: str, tail: str = "") -> str:
    return f"SELECT {', '.join(items)} FROM ({query}) AS _f{tail}"


def _renamed(call: _Call, query: str, new_names: Mapping[str, str]) -> str:
    items = [f"{q(n)} AS {q(new_names[n])}" if n in new_names else q(n) for n, _ in call.columns]
    return _select(items, query)


def _drop(call: _Call, query: str) -> str:
    dropped = set(call.names())
    kept = [q(n) for n, _ in call.columns if n not in dropped]
    if not kept:
        raise call.fail("would drop every column")
    return _select(kept, query)


def _select_columns(call: _Call, query: str) -> str:
    return _select([q(n) for n in call.names()], query)


def _rename_all(call: _Call, query: str) -> str:
    return _renamed(call, query, {k: str(v) for k, v in call.mapping().items()})


def _rename(call: _Call, query: str) -> str:
    if not call.fn.column or not call.fn.asColumn:
        raise call.fail("needs 'column' and 'asColumn'")
    return _renamed(call, query, {call.column(call.fn.column): call.fn.asColumn})


def _snake_case(call: _Call, query: str) -> str:
    return _renamed(call, query, {n: snake(n) for n, _ in call.columns})


def _change_column_case(call: _Call, query: str) -> str:
    case = (call.fn.case or "lower").lower()
    if case not in ("lower", "upper"):
        raise call.fail(f"case must be 'lower' or 'upper', not '{call.fn.case}'")
    change = str.lower if case == "lower" else str.upper
    return _renamed(call, query, {n: change(n) for n, _ in call.columns})


def _set_type(call: _Call, query: str) -> str:
    types = {n: column_type(str(t), call.where) for n, t in call.mapping().items()}
    items = [
        f"CAST({q(n)} AS {types[n]}) AS {q(n)}" if n in types else q(n) for n, _ in call.columns
    ]
    return _select(items, query)


def _fill_null_or_empty(call: _Call, query: str) -> str:
    """Null (and, for text columns, empty) values replaced; the column keeps its type."""
    values = call.mapping()
    items = []
    for name, dtype in call.columns:
        if name not in values:
            items.append(q(name))
            continue
        fill = f"CAST({literal(values[name])} AS {dtype})"
        test = f"{q(name)} IS NULL"
        if dtype.upper() == "VARCHAR":
            test += f" OR {q(name)} = ''"
        items.append(f"CASE WHEN {test} THEN {fill} ELSE {q(name)} END AS {q(name)}")
    return _select(items, query)


def _drop_duplicates(call: _Call, query: str) -> str:
    """Spark's ``dropDuplicates``: one (arbitrary) row per value of the columns given."""
    everything = [q(n) for n, _ in call.columns]
    if call.fn.columns is None:
        return f"SELECT DISTINCT {', '.join(everything)} FROM ({query}) AS _f"
    keys = ", ".join(q(n) for n in call.names())
    return _select(everything, query, f" QUALIFY row_number() OVER (PARTITION BY {keys}) = 1")


def _add_column(call: _Call, query: str) -> str:
    name = call.fn.column
    if not name:
        raise call.fail("needs 'column' (the new column's name)")
    if name.lower() in call._by_lower:
        raise call.fail(f"column '{name}' exists already")
    value = literal(call.fn.value)
    if call.fn.type:
        value = f"CAST({value} AS {column_type(call.fn.type, call.where)})"
    return _select([*(q(n) for n, _ in call.columns), f"{value} AS {q(name)}"], query)


def _copy(call: _Call, query: str) -> str:
    if not call.fn.fromColumn or not call.fn.toColumn:
        raise call.fail("needs 'fromColumn' and 'toColumn'")
    source = call.column(call.fn.fromColumn)
    target = call.fn.toColumn
    items = [q(n) for n, _ in call.columns if n.lower() != target.lower()]
    return _select([*items, f"{q(source)} AS {q(target)}"], query)


BUILTINS: dict[str, Callable[[_Call, str], str]] = {
    "add_column": _add_column,
    "change_column_case": _change_column_case,
    "copy": _copy,
    "drop": _drop,
    "drop_duplicates": _drop_duplicates,
    "fill_null_or_empty": _fill_null_or_empty,
    "rename": _rename,
    "rename_all": _rename_all,
    "select": _select_columns,
    "set_type": _set_type,
    "snake_case": _snake_case,
}
"""The flare functions this runner implements (others fail with a clear error)."""


def apply_function(fn: Function, query: str, columns: Columns, where: str) -> str:
    """The SQL of ``fn`` applied to ``query`` (whose columns are ``columns``)."""
    builtin = BUILTINS.get(fn.name)
    if builtin is None:
        raise FlareError(
            f"{where}, function '{fn.name}'",
            f"function '{fn.name}' is not supported by the DuckDB flare runner "
            f"(supported: {', '.join(sorted(BUILTINS))})",
        )
    return builtin(_Call(fn, columns, where), query)
