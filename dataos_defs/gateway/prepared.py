"""``EXECUTE IMMEDIATE '<sql>' USING <values>``: how the Trino client sends parameters.

The statement text and each value are parsed with sqlglot; only literals (strings,
numbers, booleans, NULL, and typed literals such as ``DATE '2024-01-01'``, possibly
negated) may be bound, each into the next ``?`` of the statement. The bound statement is
then analysed and governed like any other, so parameters cannot smuggle SQL in.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dataos_defs.gateway.model import Refused

_HINT = "bind only values: strings, numbers, booleans, NULL, typed literals"
_EXECUTE_IMMEDIATE = re.compile(
    r"^\s*EXECUTE\s+IMMEDIATE\s+'((?:[^']|'')*)'\s*(?:USING\s+(.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _is_literal(value: exp.Expression) -> bool:
    if isinstance(value, exp.Literal | exp.Boolean | exp.Null):
        return True
    if isinstance(value, exp.Neg):
        return isinstance(value.this, exp.Literal) and not value.this.is_string
    if isinstance(value, exp.Cast):
        return isinstance(value.this, exp.Literal)
    return False


def _values(text: str) -> list[exp.Expression]:
    try:
        parsed = sqlglot.parse_one(f"SELECT {text}", read="trino")
    except (ParseError, TokenError):
        raise Refused(f"cannot read the parameters {text!r}", _HINT) from None
    values = list(parsed.expressions) if isinstance(parsed, exp.Select) else []
    for value in values:
        if not _is_literal(value):
            raise Refused(f"parameter {value.sql('trino')!r} is not a literal", _HINT)
    return values


def bind_execute_immediate(sql: str) -> str:
    """The statement with its parameters bound, or ``sql`` unchanged if it is not an
    EXECUTE IMMEDIATE."""
    found = _EXECUTE_IMMEDIATE.match(sql)
    if found is None:
        return sql
    statement = found.group(1).replace("''", "'")
    values = _values(found.group(2)) if found.group(2) else []
    try:
        tree = sqlglot.parse_one(statement, read="trino")
    except (ParseError, TokenError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise Refused(
            f"the prepared statement does not parse: {problem}", "write one query in Trino SQL"
        ) from None
    placeholders = list(tree.find_all(exp.Placeholder, bfs=False))
    if len(placeholders) != len(values):
        raise Refused(
            f"the statement has {len(placeholders)} parameter(s) but {len(values)} were given",
            "bind one value per '?'",
        )
    for placeholder, value in zip(placeholders, values, strict=True):
        placeholder.replace(value.copy())
    return tree.sql("trino")
