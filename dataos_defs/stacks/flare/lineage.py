"""Column lineage of outputs: which input columns each output column is computed from.

sqlglot traces a column through the chain of views (steps, functions and query inputs, all
kept as DuckDB SQL) down to the views holding input datasets. A column sqlglot cannot trace
(a construct it does not model, ``count(*)``) gets an empty list rather than failing the run.
Sources are sorted by dataset and column. :func:`trace_columns` also says which columns
could not be traced, so a governed run can tag them with everything it read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage

from dataos_defs.stacks.flare.model import ColumnSource

Schema = Mapping[str, Sequence[tuple[str, str]]]


Lineage = dict[str, tuple[ColumnSource, ...]]


def column_lineage(
    view: str,
    columns: Sequence[str],
    views: Mapping[str, str],
    base: Schema,
    addresses: Mapping[str, str],
) -> Lineage:
    """Output column -> input columns, for the view ``view``.

    ``views`` maps every SQL-defined view to its DuckDB SQL; ``base`` gives the columns of
    the views that hold input data, and ``addresses`` their dataset addresses.
    """
    return trace_columns(view, columns, views, base, addresses)[0]


def trace_columns(
    view: str,
    columns: Sequence[str],
    views: Mapping[str, str],
    base: Schema,
    addresses: Mapping[str, str],
) -> tuple[Lineage, frozenset[str]]:
    """:func:`column_lineage` and the columns sqlglot could not trace (their sources are
    unknown, which is not the same as having none, as ``count(*)`` has)."""
    if view not in views:
        address = addresses.get(view)
        if address is None:
            return dict.fromkeys(columns, ()), frozenset(columns)
        return {c: (ColumnSource(address, c),) for c in columns}, frozenset()
    schema = {name: dict(cols) for name, cols in base.items()}
    others = {name: sql for name, sql in views.items() if name != view}
    lowered = {name.lower(): address for name, address in addresses.items()}
    traced = {c: _trace(c, views[view], others, schema, lowered) for c in columns}
    untraced = frozenset(c for c, sources in traced.items() if sources is None)
    return {c: sources or () for c, sources in traced.items()}, untraced


def _trace(
    column: str,
    sql: str,
    sources: Mapping[str, str],
    schema: Mapping[str, Mapping[str, str]],
    addresses: Mapping[str, str],
) -> tuple[ColumnSource, ...] | None:
    try:
        node = lineage(
            exp.column(column, quoted=True),
            sql,
            schema=dict(schema),
            sources=dict(sources),
            dialect="duckdb",
        )
    except (SqlglotError, KeyError, ValueError, AttributeError):
        return None
    found: dict[ColumnSource, None] = {}
    for leaf in node.walk():
        if leaf.downstream or not isinstance(leaf.source, exp.Table):
            continue
        address = addresses.get(leaf.source.name.lower())
        if address is not None:
            found[ColumnSource(address, leaf.name.rsplit(".", 1)[-1])] = None
    return tuple(sorted(found, key=lambda s: (s.dataset, s.column)))
