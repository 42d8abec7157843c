"""The Gateway's rewrite: every base table becomes a masked, filtered subquery.

``FROM lakehouse.shop.customers AS c`` becomes::

    FROM (SELECT "id", <mask of "email"> AS "email", ... FROM <physical>
          WHERE <row filters>) AS c

with all the dataset's columns in order, so ``SELECT *``, ``c.*``, joins, WHERE, GROUP BY,
window partitions and correlated subqueries can only ever see masked values of kept rows.
A table without an alias keeps its name as the alias, and column references qualified
with more of its name (``shop.customers.email``, ``lakehouse.shop.customers.email``) are
cut back to it: as in Trino, a qualifier names the table whose full name ends with it, and
one that ends two tables' names is refused as ambiguous. The engine never sees a dataset
name, only the physical names the catalog gives and the subqueries around them.

Names fold to lower case, quoted ones too, as Trino folds them (``analyse.fold``); the
result's columns keep the labels the user wrote (``"Email"`` is read as ``email`` and
labelled ``Email``).

CTEs shadow datasets: a one-part name refers to the nearest visible CTE of that name
(case-insensitive; a CTE sees the CTEs before it, and itself under RECURSIVE). Every CTE is
renamed to a name of the Gateway's own (``__cte1``, ...), and a reference to it keeps the
name the user wrote as its alias, so what the analyser decided is a CTE is a CTE to the
engine too, whatever the engine's own name-resolution rules: a name can never fall
through to a physical table.

What is accepted at all is decided in ``analyse.py``; SHOW and DESCRIBE in ``show.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot import exp

from dataos_defs import __version__
from dataos_defs.gateway.analyse import (
    check_constructs,
    fold,
    fold_identifiers,
    leading_keyword,
    parse_query,
    resolve,
)
from dataos_defs.gateway.fidelity import engine_sql, trino_json_casts
from dataos_defs.gateway.masks import filter_condition, mask_expression
from dataos_defs.gateway.model import (
    AppliedMask,
    Catalog,
    Column,
    Governance,
    GovernanceFor,
    Refused,
    Rewritten,
    Table,
    TableName,
)
from dataos_defs.gateway.show import Session, describe, listing, show
from dataos_defs.gateway.trino_masks import column_trino_type, trino_mask_expression
from dataos_defs.manifest.policy_parts import Mask

_EXPLAIN_OPTIONS = re.compile(r"\s*(?:ANALYZE\b|\(\s*(?:TYPE|FORMAT)\b)", re.IGNORECASE)


SERVER_VERSION = f"dataos-gateway-{__version__}"
"""What ``version()`` answers (clients such as the SQLAlchemy dialect ask for it); the
engine's own version is not disclosed."""


def rewrite(
    sql: str,
    catalog: Catalog,
    governance: GovernanceFor,
    *,
    read: str = "trino",
    write: str = "duckdb",
    default_catalog: str | None = None,
    default_schema: str | None = None,
    may_see: Callable[[TableName], bool] = lambda _: False,
) -> Rewritten:
    """``sql`` governed for the caller whose policies ``governance`` resolves, in the
    ``write`` dialect; raises Refused for anything not provably governed.

    ``may_see`` decides which datasets SHOW and DESCRIBE reveal."""
    keyword, end = leading_keyword(sql)
    session = Session(read, write, default_catalog, default_schema, may_see)
    if keyword == "SHOW":
        return show(sql[end:], catalog, session)
    if keyword in ("DESCRIBE", "DESC"):
        return describe(sql[end:], catalog, session)
    explain = keyword == "EXPLAIN"
    if explain and _EXPLAIN_OPTIONS.match(sql, end):
        raise Refused("EXPLAIN ANALYZE and EXPLAIN options are not accepted", "use EXPLAIN <query>")
    if explain and not sql[end:].strip(" \t\r\n;"):
        raise Refused("EXPLAIN needs a query", "use EXPLAIN <query>")
    tree = parse_query(sql[end:] if explain else sql, read)
    rewriter = _Rewriter(catalog, governance, write, default_catalog, default_schema)
    governed_tree = trino_json_casts(trino_column_names(rewriter.govern(tree)), write)
    governed = engine_sql(governed_tree, write)
    names = sorted(rewriter.tables, key=lambda name: name.dataset_id)
    policies = {name.dataset_id: rewriter.policies[name] for name in names}
    if explain:
        governed = _explained(governed, policies, write)
    return Rewritten(
        kind="explain" if explain else "select",
        sql=governed,
        tables=tuple(names),
        policies=policies,
    )


def trino_column_names(tree: exp.Expr) -> exp.Expr:
    """Name the result's unnamed columns as Trino does (``_col0``, ``_col1``, ...), not as
    the engine would (``count_star()``); plain column references keep their names."""
    select = _first_select(tree)
    if select is None:
        return tree
    for index, item in enumerate(list(select.expressions)):
        if not isinstance(item, exp.Alias | exp.Column | exp.Star):
            item.replace(exp.alias_(item.copy(), f"_col{index}", quoted=True))
    return tree


def _explained(governed: str, policies: dict[str, tuple[str, ...]], write: str) -> str:
    """The engine's plan, or, when any data policy applies, the governed statement itself.

    An engine plan is computed from the data's statistics (min/max per file, row counts),
    which describe raw values and filtered-out rows: its shape would leak what masks and
    filters hide (e.g. whether any raw value exceeds a bound). Governed callers therefore
    see the statement the engine would run, as Trino's EXPLAIN shows a plan: one row."""
    if not any(policies.values()):
        return f"EXPLAIN {governed}"
    return listing(("Query Plan",), [(governed,)]).sql(dialect=write)


@dataclass
class _Rewriter:
    """One statement's rewrite: the datasets it reads and the policies applied to them."""

    catalog: Catalog
    governance: GovernanceFor
    write: str
    default_catalog: str | None
    default_schema: str | None
    tables: dict[TableName, Table] = field(default_factory=dict)
    policies: dict[TableName, tuple[str, ...]] = field(default_factory=dict)
    _subqueries: dict[TableName, exp.Select] = field(default_factory=dict)

    def govern(self, tree: exp.Expr) -> exp.Expr:
        for version_call in list(tree.find_all(exp.CurrentVersion)):
            version_call.replace(exp.Literal.string(SERVER_VERSION))
        check_constructs(tree)
        labels = output_labels(tree)
        fold_identifiers(tree)
        references = [(node, visible_cte(node)) for node in tree.find_all(exp.Table)]
        cte_names = {
            id(cte): f"__cte{number}" for number, cte in enumerate(tree.find_all(exp.CTE), 1)
        }
        unaliased: dict[TableName, str] = {}
        for node, cte in references:
            if cte is not None:
                _point_to_cte(node, cte_names[id(cte)])
            else:
                table = self._read(node)
                if not node.alias:
                    unaliased[table.name] = node.name
                subquery = exp.Subquery(
                    this=self._subquery(table), alias=_alias(node), joins=node.args.get("joins")
                )
                node.replace(subquery)
        for cte in tree.find_all(exp.CTE):
            cte.args["alias"].set("this", exp.to_identifier(cte_names[id(cte)]))
        if unaliased:
            unqualify_columns(tree, unaliased)
        keep_labels(tree, labels)
        return tree

    def _read(self, node: exp.Table) -> Table:
        table = resolve(self.catalog, node, self.default_catalog, self.default_schema)
        self.tables.setdefault(table.name, table)
        return table

    def _subquery(self, table: Table) -> exp.Select:
        """The governed SELECT of a dataset, built once per statement (later references
        get copies: the first one is already part of the tree)."""
        built = self._subqueries.get(table.name)
        if built is not None:
            return built.copy()
        rules = self.governance(table)
        self.policies[table.name] = rules.policies
        built = governed_select(table, rules, self.write)
        self._subqueries[table.name] = built
        return built


def unqualify_columns(tree: exp.Expr, unaliased: dict[TableName, str]) -> None:
    """``shop.customers.email`` → ``customers.email`` when ``lakehouse.shop.customers`` is
    read without an alias (its subquery is then aliased ``customers``): the qualifier names
    the table whose full name ends with it (Trino's rule). A qualifier ending no table's
    name is left to the engine (a field of a row column, or an unknown name)."""
    for column in tree.find_all(exp.Column):
        parts = [column.args.get(key) for key in ("catalog", "db", "table")]
        if not isinstance(parts[1], exp.Identifier):
            continue
        qualifier = tuple(fold(part.name) for part in parts if isinstance(part, exp.Identifier))
        matches = sorted(
            (name for name in unaliased if _ends_with(name, qualifier)),
            key=lambda name: name.dataset_id,
        )
        if len(matches) > 1:
            raise Refused(
                f"column '{'.'.join((*qualifier, column.name))}' is ambiguous: "
                f"'{'.'.join(qualifier)}' ends the names of "
                f"{' and '.join(name.dataset_id for name in matches)}",
                "qualify the column with more of the table's name, or give the tables "
                "aliases and qualify columns with them",
            )
        if matches:
            column.set("catalog", None)
            column.set("db", None)
            column.set("table", exp.to_identifier(unaliased[matches[0]]))


def _ends_with(name: TableName, qualifier: tuple[str, ...]) -> bool:
    parts = (name.depot, name.collection, name.dataset)
    return tuple(fold(part) for part in parts[-len(qualifier) :]) == qualifier


def _first_select(tree: exp.Expr) -> exp.Select | None:
    select = tree
    while isinstance(select, exp.SetOperation | exp.Subquery):
        select = select.this
    return select if isinstance(select, exp.Select) else None


def output_labels(tree: exp.Expr) -> list[str | None]:
    """The names the result's columns get, as the user wrote them (Trino labels a column
    with the name or alias as written, though it compares names folded)."""
    select = _first_select(tree)
    if select is None:
        return []
    return [
        item.alias_or_name if isinstance(item, exp.Alias | exp.Column) else None
        for item in select.expressions
    ]


def keep_labels(tree: exp.Expr, labels: list[str | None]) -> None:
    """Give the result's columns back the labels ``output_labels`` read before folding."""
    select = _first_select(tree)
    if select is None or len(select.expressions) != len(labels):
        return
    for item, label in zip(list(select.expressions), labels, strict=True):
        if not label or item.alias_or_name == label:
            continue
        if isinstance(item, exp.Alias):
            item.set("alias", exp.to_identifier(label, quoted=True))
        elif isinstance(item, exp.Column):
            item.replace(exp.alias_(item.copy(), label, quoted=True))


def visible_cte(node: exp.Table) -> exp.CTE | None:
    """The CTE a table reference names, or None for a dataset.

    Only one-part names can name a CTE; the nearest enclosing WITH wins. Inside a WITH a
    CTE sees the CTEs defined before it, and itself too when the WITH is RECURSIVE."""
    if node.args.get("db") or node.args.get("catalog"):
        return None
    wanted = node.name.lower()
    child: exp.Expr = node
    parent = node.parent
    while parent is not None:
        candidates: list[exp.CTE] = []
        if isinstance(parent, exp.With):
            ctes = list(parent.expressions)
            position = next((i for i, cte in enumerate(ctes) if cte is child), None)
            if position is not None:
                seen = position + 1 if parent.args.get("recursive") else position
                candidates = ctes[:seen]
        else:
            with_ = parent.args.get("with_")
            if isinstance(with_, exp.With) and child is not with_:
                candidates = list(with_.expressions)
        for cte in reversed(candidates):
            if cte.alias.lower() == wanted:
                return cte
        child, parent = parent, parent.parent
    return None


def _point_to_cte(node: exp.Table, name: str) -> None:
    if not node.alias:
        node.set("alias", exp.TableAlias(this=node.this.copy()))
    node.set("this", exp.to_identifier(name))


def _alias(node: exp.Table) -> exp.TableAlias:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias):
        return alias
    return exp.TableAlias(this=node.this.copy())


def governed_select(table: Table, governance: Governance, dialect: str) -> exp.Select:
    """``SELECT <each column, masked where a policy says> FROM <physical> WHERE <filters>``
    (``physical`` is SQL in the engine's ``dialect``; masks are Trino's own expressions on
    a Trino cluster, DuckDB's equivalents elsewhere)."""
    masks = _masks_by_column(table, governance)
    columns: list[exp.Expr] = []
    for column in table.columns:
        applied = masks.get(column.name)
        if applied is None:
            columns.append(exp.column(column.name, quoted=True))
        else:
            masked = _masked(column, applied.mask, dialect)
            columns.append(exp.alias_(masked, column.name, quoted=True))
    select = exp.Select(
        expressions=columns, from_=exp.From(this=_physical(table.physical, dialect))
    )
    condition = _kept_rows(table, governance)
    if condition is not None:
        select.set("where", exp.Where(this=condition))
    return select


def _masked(column: Column, mask: Mask, dialect: str) -> exp.Expr:
    if dialect == "trino":
        return trino_mask_expression(column.name, column_trino_type(column), mask)
    return mask_expression(exp.column(column.name, quoted=True), column.type, mask)


def _masks_by_column(table: Table, governance: Governance) -> dict[str, AppliedMask]:
    masks: dict[str, AppliedMask] = {}
    for name, applied in governance.masks.items():
        column = table.column(name)
        if column is None:
            raise Refused(
                f"data policy '{applied.policy}' masks column '{name}', which table "
                f"'{table.name.dataset_id}' does not have",
                "the policy cannot be applied, so the table cannot be queried until the "
                "policy or the catalog is fixed",
            )
        masks[column.name] = applied
    return masks


def _kept_rows(table: Table, governance: Governance) -> exp.Expr | None:
    conditions: list[exp.Expr] = []
    for applied in governance.filters:
        for row in applied.filters:
            if table.column(row.column) is None:
                raise Refused(
                    f"data policy '{applied.policy}' filters on column '{row.column}', "
                    f"which table '{table.name.dataset_id}' does not have",
                    "the policy cannot be applied, so the table cannot be queried until "
                    "the policy or the catalog is fixed",
                )
        conditions.append(filter_condition(applied.filters, _column_of(table)))
    return exp.and_(*conditions) if conditions else None


def _column_of(table: Table) -> Callable[[str], exp.Expression]:
    def column(name: str) -> exp.Expression:
        found = table.column(name)
        return exp.column(found.name if found else name, quoted=True)

    return column


@lru_cache(maxsize=4096)
def _parsed_physical(physical: str, dialect: str) -> exp.Table:
    return exp.to_table(physical, dialect=dialect)


def _physical(physical: str, dialect: str) -> exp.Table:
    return _parsed_physical(physical, dialect).copy()
