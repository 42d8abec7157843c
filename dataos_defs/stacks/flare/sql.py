"""Spark/Trino SQL of a flare job made runnable on DuckDB with sqlglot.

Flare runs on Spark, so steps are parsed as Spark SQL first; statements Spark's grammar
rejects are tried as Trino (Minerva's dialect). ``query`` inputs are Minerva queries and are
tried in the opposite order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from dataos_defs.stacks.flare.model import FlareError

STEP_DIALECTS = ("spark", "trino")
QUERY_DIALECTS = ("trino", "spark")
_PLACEHOLDER = re.compile(r"\$\|([A-Za-z_][A-Za-z0-9_]*)\|")


@dataclass(frozen=True)
class Transpiled:
    """A statement in DuckDB SQL with the tree it was generated from and its source dialect."""

    sql: str
    tree: exp.Expr
    dialect: str


def transpile(text: str, where: str, dialects: Sequence[str] = STEP_DIALECTS) -> Transpiled:
    """Parse ``text`` in the first dialect that accepts it; raise a positioned FlareError.

    >>> transpile("SELECT nvl(a, 0) AS a FROM t", "step 'x'").sql
    'SELECT COALESCE(a, 0) AS a FROM t'
    """
    first: sqlglot.ParseError | None = None
    for dialect in dialects:
        try:
            trees = sqlglot.parse(text, read=dialect)
        except sqlglot.ParseError as exc:
            first = first or exc
            continue
        statements = [t for t in trees if t is not None]
        if len(statements) != 1:
            raise FlareError(where, f"expected one SQL statement, found {len(statements)}")
        tree = statements[0]
        if not isinstance(tree, exp.Query):
            raise FlareError(where, f"expected a query (SELECT ...), found {tree.key.upper()}")
        return Transpiled(tree.sql(dialect="duckdb"), tree, dialect)
    raise FlareError(where, parse_problem(first, dialects))


def parse_problem(exc: sqlglot.ParseError | None, dialects: Sequence[str]) -> str:
    """``cannot parse the SQL (spark, trino) at line 1, column 28 near '1': Expecting )``."""
    names = ", ".join(dialects)
    if exc is None or not exc.errors:
        return f"cannot parse the SQL ({names}): {exc}"
    err = exc.errors[0]
    near = (err.get("highlight") or "").strip()
    return (
        f"cannot parse the SQL ({names}) at line {err.get('line')}, column {err.get('col')}"
        + (f" near '{near}'" if near else "")
        + f": {err.get('description')}"
    )


def query_addresses(text: str, where: str) -> list[str]:
    """The datasets a ``query`` input names (``depot.collection.dataset``, CTEs excluded), as
    addresses, before anything runs (admission at apply, the run's authorization). A
    placeholder (``$|key|``) is read as a literal, since its value is known only then.

    >>> query_addresses("SELECT * FROM lake.shop.t WHERE d > $|since|", "input 'q'")
    ['dataos://lake:shop/t']
    """
    body = transpile(_PLACEHOLDER.sub("0", text), where, QUERY_DIALECTS)
    found = {f"dataos://{t.catalog}:{t.db}/{t.name}": None for t in dataset_tables(body.tree)}
    return list(found)


def placeholders(text: str) -> list[str]:
    """Names of the ``$|key|`` placeholders in ``text``, in order of appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def substitute(text: str, values: Mapping[str, str], where: str) -> str:
    """Replace ``$|key|`` with its value; an unknown key is an error, not an empty string.

    >>> substitute("a > '$|since|'", {"since": "2024-01-01"}, "input 'x'")
    "a > '2024-01-01'"
    """
    missing = [name for name in placeholders(text) if name not in values]
    if missing:
        known = ", ".join(sorted(values)) or "none"
        raise FlareError(where, f"no value for placeholder(s) {missing} (known keys: {known})")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def dataset_tables(tree: exp.Expr) -> list[exp.Table]:
    """References written ``depot.collection.dataset`` (Minerva's dotted form)."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return [
        table
        for table in tree.find_all(exp.Table)
        if table.catalog and table.db and table.name not in ctes
    ]


def rename_tables(tree: exp.Expr, names: Mapping[tuple[str, str, str], str]) -> str:
    """DuckDB SQL with each dotted dataset reference replaced by the view holding it."""

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.catalog and node.db:
            view = names.get((node.catalog, node.db, node.name))
            if view is not None:
                alias = node.alias or node.name
                return exp.to_table(view).as_(alias, quoted=True)
        return node

    return tree.copy().transform(swap).sql(dialect="duckdb")


def column_type(spark_type: str, where: str) -> str:
    """A Spark type name (``long``, ``decimal(10,2)``, ``string``) as a DuckDB type."""
    try:
        return exp.DataType.build(spark_type, dialect="spark").sql(dialect="duckdb")
    except (sqlglot.ParseError, ValueError) as exc:
        raise FlareError(where, f"unknown type '{spark_type}': {exc}") from None
