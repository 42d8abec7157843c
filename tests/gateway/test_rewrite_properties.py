"""Property: a governed query returns exactly what the same query returns over data that is
already masked and filtered, and never a raw value of a masked column.

Two DuckDB databases hold the same three datasets under the same names
(``lakehouse.shop.customers``, ``orders``, ``regions``):

* ``truth``: the data with the policies already applied, computed here in Python (hashes
  with hashlib, buckets and month starts by hand, the filters as list comprehensions);
* ``engine``: the raw data under physical names (``memory.main.raw_*``) for the rewrite,
  and, under the dataset names themselves, raw copies as decoys: a name the rewrite failed
  to replace would read them, and the comparison would fail.

Hypothesis writes SELECTs from a small grammar: projections, ``SELECT *``/``t.*``, joins
(also on a masked key), GROUP BY, window functions, CTEs (also named like a dataset),
derived tables, IN/EXISTS subqueries and UNION ALL, with names one-, two- or three-part,
quoted or in varied case, aliased or not. Each query runs unchanged on ``truth`` (only
transpiled) and rewritten on ``engine``; the multisets of rows must be equal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataos_defs.gateway.model import (
    AppliedFilter,
    AppliedMask,
    Column,
    Governance,
    Table,
    TableName,
)
from dataos_defs.gateway.rewrite import rewrite
from dataos_defs.manifest.policy_parts import Mask, RowFilter
from tests.gateway.support import DictCatalog

SCHEMAS: dict[str, dict[str, str]] = {
    "customers": {
        "id": "BIGINT",
        "name": "VARCHAR",
        "email": "VARCHAR",
        "region": "VARCHAR",
        "age": "INTEGER",
    },
    "orders": {
        "id": "BIGINT",
        "customer_id": "BIGINT",
        "amount": "DECIMAL(10,2)",
        "status": "VARCHAR",
        "placed": "DATE",
    },
    "regions": {"code": "VARCHAR", "label": "VARCHAR"},
}
KEYS = {"customers": "id", "orders": "id", "regions": "code"}
# fmt: off
RAW: dict[str, list[tuple[Any, ...]]] = {
    "customers": [
        (1, "Ann1", "ann@raw.example", "EU", 34),
        (2, "Bob22", "bob@raw.example", "US", 17),
        (3, "Cy3", "cy@raw.example", "APAC", 70),
        (4, "Di4", None, "EU", None),
        (5, "Ed5", "ed@raw.example", "EU", 65),
        (6, "Flo6", "ann@raw.example", None, 18),
        (7, None, "gus@raw.example", "US", 5),
    ],
    "orders": [
        (10, 1, Decimal("20.00"), "shipped", dt.date(2024, 1, 5)),
        (11, 1, Decimal("55.50"), "pending", dt.date(2024, 1, 20)),
        (12, 2, Decimal("99.00"), "cancelled", dt.date(2024, 2, 2)),
        (13, 3, Decimal("150.00"), "shipped", dt.date(2024, 2, 29)),
        (14, 5, None, "shipped", None),
        (15, 7, Decimal("50.00"), None, dt.date(2024, 3, 1)),
        (16, 8, Decimal("12.25"), "pending", dt.date(2023, 12, 31)),
    ],
    "regions": [("EU", "Europe"), ("US", "United States"), ("LATAM", "Latin America")],
}
# fmt: on


def _masks(*specs: tuple[str, str, dict[str, Any]]) -> dict[str, AppliedMask]:
    return {
        column: AppliedMask(policy, column, Mask.model_validate(mask), 10)
        for policy, column, mask in specs
    }


def _keep(policy: str, column: str, operator: str, value: Any) -> tuple[AppliedFilter, ...]:
    row = RowFilter.model_validate({"column": column, "operator": operator, "value": value})
    return (AppliedFilter(policy, (row,)),)


# fmt: off
GOVERNANCE: dict[str, Governance] = {
    "customers": Governance(
        masks=_masks(
            ("pii-email", "email", {"operator": "hash", "hash": {"algo": "sha256"}}),
            ("no-digits", "name", {"operator": "regex_replace",
                                   "regex_replace": {"pattern": "[0-9]", "replacement": "#"}}),
            ("age-bands", "age", {"operator": "bucket_number",
                                  "bucket_number": {"buckets": [0, 18, 65]}}),
        ),
        filters=_keep("known-regions", "region", "in", ["EU", "US"]),
    ),
    "orders": Governance(
        masks=_masks(
            ("hide-status", "status", {"operator": "redact"}),
            ("amount-bands", "amount", {"operator": "bucket_number",
                                        "bucket_number": {"buckets": [0, 50, 100]}}),
            ("month-only", "placed", {"operator": "bucket_date",
                                      "bucket_date": {"precision": "month"}}),
        ),
        filters=_keep("no-cancelled", "status", "not_equals", "cancelled"),
    ),
}
# fmt: on


def _bucket(value: Any, bounds: list[int]) -> Any:
    if value is None or value < bounds[0]:
        return None
    return max(bound for bound in bounds if bound <= value)


def _customer(row: tuple[Any, ...]) -> tuple[Any, ...]:
    id_, name, email, region, age = row
    return (
        id_,
        None if name is None else re.sub("[0-9]", "#", name),
        None if email is None else hashlib.sha256(email.encode()).hexdigest(),
        region,
        _bucket(age, [0, 18, 65]),
    )


def _order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    id_, customer_id, amount, _status, placed = row
    amount_band = _bucket(amount, [0, 50, 100])
    return (
        id_,
        customer_id,
        None if amount_band is None else Decimal(amount_band).quantize(Decimal("0.01")),
        "REDACTED",
        None if placed is None else placed.replace(day=1),
    )


TRUTH: dict[str, list[tuple[Any, ...]]] = {
    "customers": [_customer(r) for r in RAW["customers"] if r[3] in ("EU", "US")],
    "orders": [_order(r) for r in RAW["orders"] if r[3] is not None and r[3] != "cancelled"],
    "regions": RAW["regions"],
}
SECRETS = frozenset(
    {r[1] for r in RAW["customers"] if r[1]}
    | {r[2] for r in RAW["customers"] if r[2]}
    | {r[3] for r in RAW["orders"] if r[3]}
)
"""Raw values of masked text columns: none may appear anywhere in a governed result."""
TABLES = {
    name: Table(
        TableName("lakehouse", "shop", name),
        tuple(Column(column, type_) for column, type_ in columns.items()),
        f'"memory"."main"."raw_{name}"',
    )
    for name, columns in SCHEMAS.items()
}


CATALOG = DictCatalog(*TABLES.values())


def governance(table: Table) -> Governance:
    return GOVERNANCE.get(table.name.dataset, Governance())


def _database(data: dict[str, list[tuple[Any, ...]]], physical: bool) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("ATTACH ':memory:' AS lakehouse")
    connection.execute("CREATE SCHEMA lakehouse.shop")
    for name, columns in SCHEMAS.items():
        ddl = ", ".join(f"{column} {type_}" for column, type_ in columns.items())
        marks = ", ".join("?" for _ in columns)
        targets = [f"lakehouse.shop.{name}"] + ([f"memory.main.raw_{name}"] if physical else [])
        for target in targets:
            connection.execute(f"CREATE TABLE {target} ({ddl})")
            connection.executemany(f"INSERT INTO {target} VALUES ({marks})", data[name])
    connection.execute("USE lakehouse.shop")
    return connection


@pytest.fixture(scope="module")
def databases() -> Iterator[tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]]:
    truth, engine = _database(TRUTH, physical=False), _database(RAW, physical=True)
    yield truth, engine
    truth.close()
    engine.close()


# --- the grammar -------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    sql: str
    columns: tuple[str, ...]


@st.composite
def spelled(draw: st.DrawFn, name: str, quoted_any_case: bool = True) -> str:
    """A name unquoted in any case, or quoted (tables: exactly as stored)."""
    style = draw(st.sampled_from(["lower", "upper", "title", "quoted", "quoted_upper"]))
    if style == "upper":
        return name.upper()
    if style == "title":
        return name.title()
    if style == "quoted" or (style == "quoted_upper" and not quoted_any_case):
        return f'"{name}"'
    if style == "quoted_upper":
        return f'"{name.upper()}"'
    return name


@st.composite
def table_ref(draw: st.DrawFn, table: str) -> tuple[str, list[str]]:
    """The table as FROM names it, and the qualifiers its columns may use when unaliased."""
    full = ["lakehouse", "shop", table]

    def written(start: int) -> str:
        return ".".join(draw(spelled(name, quoted_any_case=False)) for name in full[start:])

    return written(draw(st.integers(0, 2))), [written(start) for start in range(3)]


@st.composite
def source(draw: st.DrawFn, table: str, alias: str | None) -> tuple[str, str]:
    """``FROM`` text for a dataset and the qualifier its columns use."""
    written, qualifiers = draw(table_ref(table))
    if alias is None:
        return written, draw(st.sampled_from(qualifiers))
    keyword = draw(st.sampled_from(["", "AS "]))
    return f"{written} {keyword}{alias}", alias


def predicate_values(table: str, column: str) -> list[str]:
    kind = SCHEMAS[table][column]
    index = list(SCHEMAS[table]).index(column)
    values = {row[index] for rows in (RAW[table], TRUTH[table]) for row in rows}
    values.discard(None)
    if kind == "VARCHAR":
        return [f"'{value}'" for value in sorted(values)]
    if kind == "DATE":
        return [f"DATE '{value.isoformat()}'" for value in sorted(values)]
    return [str(value) for value in sorted(values)]


@st.composite
def predicate(draw: st.DrawFn, table: str, qualifier: str | None) -> str:
    column = draw(st.sampled_from(list(SCHEMAS[table])))
    reference = draw(spelled(column))
    if qualifier:
        reference = f"{qualifier}.{reference}"
    shape = draw(st.sampled_from(["compare", "compare", "null", "like"]))
    if shape == "null":
        return f"{reference} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if shape == "like" and SCHEMAS[table][column] == "VARCHAR":
        return f"{reference} LIKE '{draw(st.sampled_from(['a%', '%@raw%', '%#', 'R%', '%e%']))}'"
    operator = draw(st.sampled_from(["=", "<>", "<", ">="]))
    return f"{reference} {operator} {draw(st.sampled_from(predicate_values(table, column)))}"


@st.composite
def where(draw: st.DrawFn, table: str, qualifier: str | None) -> str:
    if not draw(st.booleans()):
        return ""
    return f" WHERE {draw(predicate(table, qualifier))}"


@st.composite
def projection(draw: st.DrawFn) -> Query:
    table = draw(st.sampled_from(list(SCHEMAS)))
    alias = draw(st.sampled_from([None, "t", "T1", '"q"']))
    text, qualifier = draw(source(table, alias))
    names = draw(
        st.lists(st.sampled_from(list(SCHEMAS[table])), min_size=1, max_size=4, unique=True)
    )
    qualify = draw(st.booleans())
    items = [(f"{qualifier}." if qualify else "") + draw(spelled(name)) for name in names]
    condition = draw(where(table, qualifier if qualify else None))
    return Query(f"SELECT {', '.join(items)} FROM {text}{condition}", tuple(names))


@st.composite
def star(draw: st.DrawFn) -> Query:
    table = draw(st.sampled_from(list(SCHEMAS)))
    alias = draw(st.sampled_from([None, "s"]))
    text, qualifier = draw(source(table, alias))
    # DuckDB (the truth side) takes only one qualifier part before a star
    selected = draw(st.sampled_from(["*", f"{alias or draw(spelled(table, False))}.*"]))
    condition = draw(where(table, qualifier))
    return Query(f"SELECT {selected} FROM {text}{condition}", tuple(SCHEMAS[table]))


JOINS = [
    ("customers", "orders", "{a}.id = {b}.customer_id"),
    ("customers", "regions", "{a}.region = {b}.code"),
    ("customers", "customers", "{a}.email = {b}.email"),
    ("orders", "orders", "{a}.placed = {b}.placed"),
]


@st.composite
def join(draw: st.DrawFn) -> Query:
    left, right, on = draw(st.sampled_from(JOINS))
    a_text, _ = draw(source(left, "a"))
    b_text, _ = draw(source(right, "b"))
    kind = draw(st.sampled_from(["JOIN", "LEFT JOIN", "INNER JOIN"]))
    a_cols = draw(
        st.lists(st.sampled_from(list(SCHEMAS[left])), min_size=1, max_size=2, unique=True)
    )
    b_cols = draw(
        st.lists(st.sampled_from(list(SCHEMAS[right])), min_size=1, max_size=2, unique=True)
    )
    items = [f"a.{draw(spelled(c))} AS a_{c}" for c in a_cols]
    items += [f"b.{draw(spelled(c))} AS b_{c}" for c in b_cols]
    columns = tuple(f"a_{c}" for c in a_cols) + tuple(f"b_{c}" for c in b_cols)
    condition = draw(where(left, "a"))
    sql = f"SELECT {', '.join(items)} FROM {a_text} {kind} {b_text} ON {on.format(a='a', b='b')}"
    return Query(sql + condition, columns)


@st.composite
def grouped(draw: st.DrawFn) -> Query:
    table = draw(st.sampled_from(list(SCHEMAS)))
    text, qualifier = draw(source(table, draw(st.sampled_from([None, "g"]))))
    key = draw(st.sampled_from(list(SCHEMAS[table])))
    measure = draw(st.sampled_from(list(SCHEMAS[table])))
    by = draw(st.sampled_from(["1", draw(spelled(key))]))
    sql = (
        f"SELECT {draw(spelled(key))}, count(*) AS n, min({measure}) AS lo, "
        f"max({qualifier}.{measure}) AS hi FROM {text}{draw(where(table, None))} GROUP BY {by}"
    )
    return Query(sql, (key, "n", "lo", "hi"))


@st.composite
def windowed(draw: st.DrawFn) -> Query:
    table = draw(st.sampled_from(list(SCHEMAS)))
    text, _ = draw(source(table, draw(st.sampled_from([None, "w"]))))
    key = KEYS[table]
    part = draw(st.sampled_from([column for column in SCHEMAS[table] if column != key]))
    sql = (
        f"SELECT {key}, {part}, count(*) OVER (PARTITION BY {draw(spelled(part))}) AS n, "
        f"row_number() OVER (PARTITION BY {part} ORDER BY {key}) AS rn, "
        f"max({key}) OVER (ORDER BY {part}, {key} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS m "
        f"FROM {text}"
    )
    return Query(sql, (key, part, "n", "rn", "m"))


def _leaf() -> st.SearchStrategy[Query]:
    return st.one_of(projection(), star(), join(), grouped(), windowed())


@st.composite
def with_cte(draw: st.DrawFn, inner: st.SearchStrategy[Query]) -> Query:
    body = draw(inner)
    name = draw(st.sampled_from(["x", "customers", "Orders", "regions", '"base"']))
    column = draw(st.sampled_from(body.columns))
    tail = draw(st.sampled_from(["*", f"c.{column}"]))
    sql = f"WITH {name} AS ({body.sql}) SELECT {tail} FROM {name} AS c"
    return Query(sql, body.columns if tail == "*" else (column,))


@st.composite
def derived(draw: st.DrawFn, inner: st.SearchStrategy[Query]) -> Query:
    body = draw(inner)
    return Query(f"SELECT * FROM ({body.sql}) AS d", body.columns)


@st.composite
def union(draw: st.DrawFn) -> Query:
    def text_column(table: str) -> str:
        return draw(st.sampled_from([c for c, t in SCHEMAS[table].items() if t == "VARCHAR"]))

    parts = []
    for _ in range(draw(st.integers(2, 3))):
        table = draw(st.sampled_from(list(SCHEMAS)))
        text, _ = draw(source(table, None))
        parts.append(f"SELECT {text_column(table)} AS v FROM {text}{draw(where(table, None))}")
    return Query(" UNION ALL ".join(parts), ("v",))


@st.composite
def semi_join(draw: st.DrawFn) -> Query:
    outer, _ = draw(source("customers", "c"))
    inner, _ = draw(source("orders", "o"))
    test = draw(
        st.sampled_from(
            [
                f"c.id IN (SELECT o.customer_id FROM {inner}{{w}})",
                f"EXISTS (SELECT 1 FROM {inner} WHERE o.customer_id = c.id)",
                f"c.email IN (SELECT email FROM {draw(table_ref('customers'))[0]})",
                f"c.age > (SELECT min(o.amount) FROM {inner})",
            ]
        )
    )
    test = test.replace("{w}", draw(where("orders", "o")))
    return Query(f"SELECT c.id, c.email FROM {outer} WHERE {test}", ("id", "email"))


def queries() -> st.SearchStrategy[Query]:
    leaf = _leaf()
    level = st.one_of(leaf, with_cte(leaf), derived(leaf), union(), semi_join())
    return st.one_of(level, with_cte(level), derived(level))


# --- the property ------------------------------------------------------------------------


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> Counter[tuple[Any, ...]]:
    return Counter(connection.sql(sql).fetchall())


def _leaks(rows: Counter[tuple[Any, ...]]) -> set[Any]:
    return {value for row in rows for value in row if value in SECRETS}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries())
def test_governed_results_equal_results_over_masked_data(
    databases: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection], query: Query
) -> None:
    truth, engine = databases
    expected = _rows(truth, sqlglot.transpile(query.sql, read="trino", write="duckdb")[0])
    governed = rewrite(
        query.sql, CATALOG, governance, default_catalog="lakehouse", default_schema="shop"
    )
    actual = _rows(engine, governed.sql)
    assert not _leaks(actual), governed.sql
    assert actual == expected, governed.sql


def test_the_truth_itself_holds_no_secret(
    databases: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
) -> None:
    truth, engine = databases
    assert not _leaks(_rows(truth, "SELECT * FROM customers"))
    assert not _leaks(_rows(truth, "SELECT * FROM orders"))
    assert _leaks(_rows(engine, "SELECT * FROM customers")), "the decoys hold raw values"


def test_result_types_match_over_every_dataset(
    databases: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
) -> None:
    truth, engine = databases
    for name in SCHEMAS:
        governed = rewrite(
            f"SELECT * FROM {name}",
            CATALOG,
            governance,
            default_catalog="lakehouse",
            default_schema="shop",
        )
        assert engine.sql(governed.sql).types == truth.sql(f"SELECT * FROM {name}").types
