"""Column masks as Trino expressions, for clusters served by a real Trino.

The SQL is the one ``policies/trino`` gives Trino's OPA plugin for the same policy, column
and type, built from the same templates (``heimdall.trino_data.mask_templates``) by the
same rules as ``trino_data_policies.rego``: the template of the column type's family with
the quoted column name inserted, cast back to the column's type unless the template keeps
it, and ``CAST(NULL AS <type>)`` (or a bare ``NULL``) for a family without a template. So
a user sees on a Trino cluster what Trino itself would show through its plugin: the same
``lower(to_hex(<algo>(to_utf8(...))))`` digests, ``date_trunc`` buckets, Java regular
expressions with ``$1`` replacements in ``regexp_replace``, ``random(10)`` digits.

The text is parsed with sqlglot's Trino dialect into a tree the rewrite places in the
statement; every value in it was quoted by ``trino_data`` (literals and identifiers, with
embedded quotes doubled), and Trino's lexer, like sqlglot's Trino reader, gives a backslash
no meaning inside a string. Row filters need no Trino-specific builder: the comparisons of
``masks.filter_condition`` read the same in both dialects.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dataos_defs.gateway.model import Column, Refused
from dataos_defs.heimdall.trino_data import mask_templates, quote_identifier
from dataos_defs.manifest.policy_parts import Mask
from dataos_defs.minerva.types import trino_type

_FAMILIES = (
    ("text", re.compile(r"^(var)?char(\([0-9]+\))?$")),
    (
        "number",
        re.compile(r"^(tinyint|smallint|integer|bigint|real|double|decimal\([0-9]+, ?[0-9]+\))$"),
    ),
    ("date", re.compile(r"^date$")),
    ("timestamp", re.compile(r"^timestamp(\([0-9]+\))?( with time zone)?$")),
)
"""Trino type names by the templates' type families (``type_family`` in the Rego)."""
_SIMPLE_TYPE = re.compile(r"^[a-z][a-z0-9_]*( ?\([0-9, ]+\))?( with(out)? time zone)?$")


def column_trino_type(column: Column) -> str:
    """The type Trino reports for ``column`` (the plugin's ``columnType``): as a Trino
    cluster's catalog kept it (``engine_type``), else translated from the DuckDB spelling."""
    return (column.engine_type or trino_type(column.type)).lower()


def type_family(column_type: str) -> str:
    """``text``, ``number``, ``date``, ``timestamp`` or ``other``, as the Rego decides.

    >>> [type_family(t) for t in ("char(3)", "decimal(12, 2)", "timestamp(3)", "boolean")]
    ['text', 'number', 'timestamp', 'other']
    """
    return next((name for name, pattern in _FAMILIES if pattern.match(column_type)), "other")


def render(mask: Mask, column: str, column_type: str) -> str:
    """The Trino SQL ``policies/trino`` renders for ``mask`` on ``column`` of Trino type
    ``column_type`` (lower case, as ``mask_expression`` in the Rego lowers it).

    >>> from dataos_defs.manifest.policy_parts import Mask
    >>> render(Mask(operator="redact"), "phone", "varchar(4)")
    "CAST('REDACTED' AS varchar(4))"
    >>> render(Mask(operator="redact"), "phone", "map(varchar, integer)")
    'NULL'
    """
    template: dict[str, Any] | None = mask_templates(mask).get(type_family(column_type))
    if template is None:
        if _SIMPLE_TYPE.match(column_type):
            return f"CAST(NULL AS {column_type})"
        return "NULL"
    sql = quote_identifier(column).join(template["parts"])
    if template["returns"] in ("column", column_type):
        return sql
    return f"CAST({sql} AS {column_type})"


def trino_mask_expression(column: str, column_type: str, mask: Mask) -> exp.Expr:
    """The masked value of ``column`` (of Trino type ``column_type``) as a sqlglot tree
    (a fresh copy: the caller may attach it to a statement); raises Refused when the SQL
    cannot be read back (it always can for the masks the policy model accepts)."""
    if mask.operator == "pass_through":
        return exp.column(column, quoted=True)
    return _parsed(render(mask, column, column_type.lower())).copy()


@lru_cache(maxsize=4096)
def _parsed(sql: str) -> exp.Expr:
    try:
        return sqlglot.parse_one(sql, read="trino")
    except (ParseError, TokenError) as error:
        raise Refused(
            f"the mask {sql!r} cannot be written for Trino: {error}",
            code="unsupported_mask",
        ) from None
