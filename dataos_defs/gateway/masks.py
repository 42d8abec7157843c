"""Column masks and row filters as sqlglot expressions for DuckDB (a Trino cluster gets
Trino's own mask expressions from ``trino_masks.py``; the row filters here serve both).

The semantics are those Trino applies through ``policies/trino`` (templates rendered by
``dataos_defs/heimdall/trino_data.py``), so that a user sees the same values whichever
engine answers:

* a mask keeps the column's type: the masked value is cast back to it, and an operator
  on a type family it does not apply to gives ``CAST(NULL AS <type>)`` (it hides the value
  rather than showing it);
* NULL stays NULL, except ``redact``, whose replacement replaces NULL too (as in Trino);
* every value from a policy enters the SQL as a sqlglot literal, never as SQL text.

What DuckDB cannot do the way Trino does is refused, never approximated: the policy model
refuses it when the policy is applied (hash algorithms DuckDB lacks, patterns and
replacements RE2 cannot run: ``dataos_defs/manifest/re2.py``), and the same checks refuse
the query (:class:`Refused`) should such a mask reach the Gateway another way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sqlglot import exp
from sqlglot.errors import ParseError

from dataos_defs.gateway.model import Refused
from dataos_defs.heimdall.policy_data import PolicyDataError
from dataos_defs.heimdall.trino_data import sql_number
from dataos_defs.manifest.base import Scalar
from dataos_defs.manifest.policy_parts import (
    HASH_ALGORITHMS,
    HashMask,
    Mask,
    RedactMask,
    RowFilter,
)
from dataos_defs.manifest.re2 import re2_problem
from dataos_defs.manifest.re2 import re2_replacement as _re2_replacement

TypeFamily = Literal["text", "number", "date", "timestamp", "other"]
Returns = Literal["varchar", "literal", "date_trunc"]
"""What a mask's SQL yields before the cast back: varchar, a number literal, or
date_trunc's TIMESTAMP[TZ] (DuckDB's date_trunc turns a DATE into a TIMESTAMP)."""


def _types(names: str) -> frozenset[exp.DType]:
    return frozenset(exp.DType[name] for name in names.split())


FAMILIES: dict[TypeFamily, frozenset[exp.DType]] = {
    "text": _types("VARCHAR NVARCHAR CHAR NCHAR TEXT NAME"),
    "number": _types(
        "TINYINT SMALLINT INT BIGINT INT128 UTINYINT USMALLINT UINT UBIGINT UINT128 "
        "FLOAT DOUBLE DECIMAL BIGNUM"
    ),
    "date": _types("DATE DATE32"),
    "timestamp": _types(
        "TIMESTAMP TIMESTAMPNTZ TIMESTAMPTZ TIMESTAMPLTZ TIMESTAMP_S TIMESTAMP_MS "
        "TIMESTAMP_NS DATETIME"
    ),
}
"""DuckDB types (as sqlglot parses them) by the type families of the Trino templates."""
DUCKDB_HASHES = {algo: algo for algo in HASH_ALGORITHMS}
"""Algorithms both engines compute; DuckDB's give the lower-case hex digest of the UTF-8
bytes, as Trino's ``lower(to_hex(<algo>(to_utf8(...))))``."""


@dataclass(frozen=True)
class _Masked:
    sql: exp.Expr
    returns: Returns


def mask_expression(column: exp.Expr, column_type: str, mask: Mask) -> exp.Expr:
    """The masked value of ``column`` (of DuckDB type ``column_type``), always of that type.

    >>> from dataos_defs.manifest.policy_parts import Mask, BucketNumberMask
    >>> ages = Mask(operator="bucket_number", bucket_number=BucketNumberMask(buckets=[18, 65]))
    >>> mask_expression(exp.column("age", quoted=True), "INTEGER", ages).sql("duckdb")
    'CAST(CASE WHEN "age" >= 65 THEN 65 WHEN "age" >= 18 THEN 18 ELSE NULL END AS INT)'
    >>> mask_expression(exp.column("age"), "DATE", ages).sql("duckdb")
    'CAST(NULL AS DATE)'
    """
    if mask.operator == "pass_through":
        return column.copy()
    target = duckdb_type(column_type)
    family = type_family(target)
    masked = _OPERATORS[mask.operator](column, mask, family)
    if masked is None:
        return exp.cast(exp.null(), target)
    if masked.returns == "varchar" and family == "text":
        return masked.sql  # every DuckDB text type is VARCHAR (lengths are not enforced)
    return exp.cast(masked.sql, target)


def duckdb_type(column_type: str) -> exp.DataType:
    """The column's type as a sqlglot node (a fresh copy: callers may attach it to a tree)."""
    return _parsed_type(column_type).copy()


@lru_cache(maxsize=1024)
def _parsed_type(column_type: str) -> exp.DataType:
    try:
        return exp.DataType.build(column_type, dialect="duckdb")
    except (ParseError, ValueError) as error:
        raise Refused(
            f"cannot mask a column of type {column_type!r}: the type is unknown to the gateway",
            code="unsupported_mask",
        ) from error


def type_family(data_type: exp.DataType) -> TypeFamily:
    """Which of the Trino templates' type families a DuckDB type belongs to."""
    for family, types in FAMILIES.items():
        if data_type.this in types:
            return family
    return "other"


def _hash(column: exp.Expr, mask: Mask, family: TypeFamily) -> _Masked | None:
    if family != "text":
        return None
    algo = (mask.hash or HashMask()).algo
    function = DUCKDB_HASHES.get(algo)
    if function is None:
        raise Refused(
            f"the hash algorithm {algo!r} is not available on DuckDB",
            hint=f"mask with one of {', '.join(sorted(DUCKDB_HASHES))}",
            code="unsupported_mask",
        )
    return _Masked(exp.Anonymous(this=function, expressions=[column.copy()]), "varchar")


def _bucket_number(column: exp.Expr, mask: Mask, family: TypeFamily) -> _Masked | None:
    """The largest bound not above the value; NULL below the lowest bound and for NULL."""
    if family != "number" or mask.bucket_number is None:
        return None
    case = exp.Case()
    for bound in sorted(mask.bucket_number.buckets, reverse=True):
        literal = number_literal(bound)
        case = case.when(exp.GTE(this=column.copy(), expression=literal), literal.copy())
    return _Masked(case.else_(exp.null()), "literal")


def _bucket_date(column: exp.Expr, mask: Mask, family: TypeFamily) -> _Masked | None:
    """``date_trunc``; on a DATE, ``hour`` truncates to the day (as Trino's template does)."""
    if mask.bucket_date is None or family not in ("date", "timestamp"):
        return None
    precision = mask.bucket_date.precision
    if family == "date" and precision == "hour":
        precision = "day"
    unit = exp.Literal.string(precision)
    truncated = exp.Anonymous(this="date_trunc", expressions=[unit, column.copy()])
    return _Masked(truncated, "date_trunc")


def _regex_replace(column: exp.Expr, mask: Mask, family: TypeFamily) -> _Masked | None:
    """Every match replaced (Trino's ``regexp_replace``; DuckDB needs the ``'g'`` option)."""
    if family != "text" or mask.regex_replace is None:
        return None
    pattern = mask.regex_replace.pattern
    problem = re2_problem(pattern)
    if problem:
        raise Refused(
            f"the regex_replace pattern {pattern!r} cannot run on DuckDB (RE2): {problem}",
            code="unsupported_mask",
        )
    replacement = re2_replacement(pattern, mask.regex_replace.replacement)
    arguments = [column.copy(), *map(exp.Literal.string, (pattern, replacement, "g"))]
    return _Masked(exp.Anonymous(this="regexp_replace", expressions=arguments), "varchar")


def _rand_pattern(column: exp.Expr, mask: Mask, family: TypeFamily) -> _Masked | None:
    if family != "text" or mask.rand_pattern is None:
        return None
    random = random_pattern(mask.rand_pattern.pattern)
    is_null = exp.Is(this=column.copy(), expression=exp.null())
    return _Masked(exp.Case().when(is_null, exp.null()).else_(random), "varchar")


def _redact(column: exp.Expr, mask: Mask, family: TypeFamily) -> _Masked | None:
    if family != "text":
        return None
    return _Masked(exp.Literal.string((mask.redact or RedactMask()).replacement), "varchar")


_OPERATORS: dict[str, Callable[[exp.Expr, Mask, TypeFamily], _Masked | None]] = {
    "hash": _hash,
    "bucket_number": _bucket_number,
    "bucket_date": _bucket_date,
    "regex_replace": _regex_replace,
    "rand_pattern": _rand_pattern,
    "redact": _redact,
}


def random_pattern(pattern: str) -> exp.Expr:
    """Each ``#`` a random digit, anything else kept, as one flat ``concat``.

    >>> random_pattern("#-x").sql("duckdb")
    "CONCAT(CAST(CAST(FLOOR(RANDOM() * 10) AS INT) AS TEXT), '-x')"
    """
    pieces: list[exp.Expr] = []
    for is_digit, run in _runs(pattern):
        if is_digit:
            pieces.extend(_random_digit() for _ in run)
        else:
            pieces.append(exp.Literal.string(run))
    if len(pieces) == 1:
        return pieces[0]
    return exp.Anonymous(this="concat", expressions=pieces)


def _runs(pattern: str) -> list[tuple[bool, str]]:
    """``"##-x#"`` → ``[(True, "##"), (False, "-x"), (True, "#")]``."""
    return [(run[0] == "#", run) for run in re.findall(r"#+|[^#]+", pattern)]


def _random_digit() -> exp.Expr:
    scaled = exp.Mul(this=exp.Anonymous(this="random"), expression=exp.Literal.number(10))
    digit = exp.cast(exp.Floor(this=scaled), exp.DataType.build("INTEGER"))
    return exp.cast(digit, exp.DataType.build("VARCHAR"))


def re2_replacement(pattern: str, replacement: str) -> str:
    """Trino's replacement syntax translated for DuckDB (RE2), or Refused
    (``dataos_defs.manifest.re2.re2_replacement``).

    >>> print(re2_replacement("(a)(b)", "$2$1 \\\\$ \\\\\\\\"))
    \\2\\1 $ \\\\
    """
    try:
        return _re2_replacement(pattern, replacement)
    except ValueError as error:
        raise Refused(str(error), code="unsupported_mask") from None


def filter_condition(filters: Sequence[RowFilter], column: Callable[[str], exp.Expr]) -> exp.Expr:
    """The rows a user keeps: every filter ANDed, ``column`` giving each filter's column.

    The comparisons are SQL's, three-valued as in Trino: a row whose column is NULL is
    kept by no filter, neither ``equals`` nor ``not_equals`` (``NULL <> 'EU'`` is unknown,
    not true), nor ``not_in``. An empty ``in`` list keeps nothing, an empty ``not_in``
    everything. No filters keep every row.

    >>> from dataos_defs.manifest.policy_parts import RowFilter
    >>> rows = [RowFilter(column="region", operator="equals", value="it's")]
    >>> filter_condition(rows, lambda name: exp.column(name, quoted=True)).sql("duckdb")
    '"region" = \\'it\\'\\'s\\''
    """
    conditions = [_row_condition(row, column(row.column)) for row in filters]
    return exp.and_(*conditions) if conditions else exp.true()


_COMPARISONS: dict[str, type[exp.Binary]] = {
    "equals": exp.EQ,
    "not_equals": exp.NEQ,
    "less_than": exp.LT,
    "less_than_equals": exp.LTE,
    "greater_than": exp.GT,
    "greater_than_equals": exp.GTE,
}


def _row_condition(row: RowFilter, column: exp.Expr) -> exp.Expr:
    if row.operator in ("in", "not_in"):
        if not isinstance(row.value, list):
            raise _bad_filter(row, "needs a list of values")
        if not row.value:
            return exp.false() if row.operator == "in" else exp.true()
        found = exp.In(this=column, expressions=[literal(v) for v in row.value])
        return found if row.operator == "in" else exp.Not(this=found)
    if isinstance(row.value, list):
        raise _bad_filter(row, "compares with one value, not a list")
    return _COMPARISONS[row.operator](this=column, expression=literal(row.value))


def _bad_filter(row: RowFilter, problem: str) -> Refused:
    return Refused(
        f"the filter on {row.column!r} with operator {row.operator!r} {problem}",
        code="unsupported_filter",
    )


def literal(value: Scalar) -> exp.Expr:
    """A policy value as a SQL literal (numbers written as Trino's templates write them).

    >>> [literal(v).sql("duckdb") for v in ("it's", 3, 1e-7, True)]
    ["'it''s'", '3', '0.0000001', 'TRUE']
    """
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return number_literal(value)
    return exp.Literal.string(value)


def number_literal(value: float) -> exp.Expr:
    try:
        return exp.Literal.number(sql_number(value))
    except PolicyDataError as error:
        raise Refused(str(error), code="unsupported_policy") from error
