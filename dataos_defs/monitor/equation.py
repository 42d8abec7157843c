"""``equation_monitor``: ``left operator right``, each side ``coefficient * query + constant``.

A side's query runs through the Gateway as the monitor's identity, exactly as that user's
own query would: Heimdall decides every dataset it reads, row filters and column masks are
applied, the query is audited (source ``monitor``). So an equation is computed from what
that user may see and nothing more: a query the user may not run, or a masked value, puts
the monitor in error, never in an incident. A side's value is the first row's
``comparisonColumn`` (else its first column), which must be a number. ``trino`` queries
run here; ``prom``, ``postgres`` and ``lens`` have no engine on this platform yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from dataos_defs.gateway.clusters import RoutingError
from dataos_defs.gateway.model import Refused
from dataos_defs.gateway.service import (
    Caller,
    Denied,
    Gateway,
    QueryFailed,
    QueryRequest,
    Unavailable,
)
from dataos_defs.manifest.monitor import Equation, Expression, Query
from dataos_defs.monitor.pagers_eval import compare

QUERY_SOURCE = "monitor"
SUPPORTED_QUERIES = ("trino",)


class EquationError(ValueError):
    """A side cannot be computed: what, where, a hint."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} ({hint})")
        self.message = message
        self.hint = hint


class Queries(Protocol):
    """Runs one governed query as ``caller``; its first row (None: no row)."""

    def first_row(self, caller: Caller, query: Query) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class GatewayQueries:
    """:class:`Queries` through the platform's Gateway (the API server's)."""

    gateway: Gateway

    def first_row(self, caller: Caller, query: Query) -> dict[str, Any] | None:
        request = QueryRequest(
            sql=query.ql or "", cluster=query.cluster, source=QUERY_SOURCE, page_rows=1
        )
        try:
            page = self.gateway.run(caller, request)
        except Denied as exc:
            raise EquationError(
                f"{caller.user_id} may not run it: {exc.message}", exc.hint
            ) from None
        except Refused as exc:
            raise EquationError(f"the Gateway refused it: {exc.message}", exc.hint or "") from None
        except (RoutingError, QueryFailed, Unavailable) as exc:
            raise EquationError(f"it failed: {exc}", "check the query and its cluster") from None
        if page.next_token is not None:
            self.gateway.cancel(caller, page.query_id)
        if not page.rows:
            return None
        return {name: value for (name, _), value in zip(page.columns, page.rows[0], strict=False)}


@dataclass(frozen=True)
class Solved:
    holds: bool
    left: float
    right: float

    def as_context(self, equation: Equation) -> dict[str, Any]:
        return {"left": self.left, "operator": equation.operator, "right": self.right}


def solve(equation: Equation, caller: Caller, queries: Queries) -> Solved:
    """Both sides as ``caller``; raises :class:`EquationError` when either cannot be computed."""
    left = _side(equation.leftExpression, "leftExpression", caller, queries)
    right = _side(equation.rightExpression, "rightExpression", caller, queries)
    return Solved(compare(left, equation.operator, right), left, right)


def _side(expression: Expression, where: str, caller: Caller, queries: Queries) -> float:
    query = expression.query
    if query is None:
        return expression.queryConstant
    if query.type not in SUPPORTED_QUERIES:
        raise EquationError(
            f"{where}.query: '{query.type}' queries have no engine here",
            "use a trino query through a cluster (the Gateway)",
        )
    try:
        row = queries.first_row(caller, query)
    except EquationError as exc:
        raise EquationError(f"{where}.query: {exc.message}", exc.hint) from None
    if row is None:
        raise EquationError(f"{where}.query returned no row", "make it return one number")
    column = query.comparisonColumn.name if query.comparisonColumn else next(iter(row), None)
    value = row.get(column) if column is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise EquationError(
            f"{where}.query: column '{column}' is {value!r}, not a number "
            f"(a masked or filtered value is not used)",
            "select one numeric column, or name it in comparisonColumn",
        )
    return expression.queryCoefficient * float(value) + expression.queryConstant
