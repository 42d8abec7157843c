"""User SQL in checks (filters, ``fail condition``, ``<metric> expression|query``) as DuckDB.

Soda on DataOS runs these on Minerva (Trino), so they are read as Trino first, then Spark,
with the flare transpiler; a fragment is wrapped in a query to be parsed on its own.
"""

from __future__ import annotations

from sqlglot import exp

from dataos_defs.stacks.flare.model import FlareError
from dataos_defs.stacks.flare.sql import QUERY_DIALECTS, transpile


class CheckProblem(Exception):
    """The check cannot be evaluated (unknown column, bad SQL, missing configuration)."""


class Unsupported(CheckProblem):
    """A SodaCL construct this executor does not evaluate; the check fails saying so."""


def condition(text: str, what: str) -> str:
    """A boolean SQL expression (a ``WHERE`` body) in DuckDB SQL.

    >>> condition("country = 'UK' AND age > 30", "filter")
    "country = 'UK' AND age > 30"
    """
    tree = _parse(f"SELECT 1 WHERE {text}", what)
    where = tree.args.get("where")
    assert isinstance(where, exp.Where)
    return where.this.sql(dialect="duckdb")


def expression(text: str, what: str) -> str:
    """A scalar SQL expression (an aggregate for user metrics) in DuckDB SQL."""
    tree = _parse(f"SELECT {text}", what)
    selects = tree.selects
    if len(selects) != 1:
        raise CheckProblem(f"{what}: expected one expression, found {len(selects)}")
    return selects[0].sql(dialect="duckdb")


def query(text: str, what: str) -> str:
    """A whole query in DuckDB SQL."""
    return _parse(text, what).sql(dialect="duckdb")


def _parse(text: str, what: str) -> exp.Query:
    try:
        tree = transpile(text, what, QUERY_DIALECTS).tree
    except FlareError as exc:
        raise CheckProblem(f"{what}: {exc.problem}") from None
    assert isinstance(tree, exp.Query)
    return tree


def literal(value: object) -> str:
    """A SQL string literal of ``value`` (booleans as DuckDB prints them: true/false)."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text.replace("'", "''") + "'"
