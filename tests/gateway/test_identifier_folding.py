"""Names as Trino reads them: every identifier folds to lower case, quoted ones included, and
a column qualifier names the table whose full name ends with it.

The property: a query with its names written in random case and quoting returns exactly
what the same query written in lower case returns, through the whole rewrite (masks and
filters applied), with the result's columns labelled as the user wrote them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataos_defs.gateway.model import (
    AppliedFilter,
    AppliedMask,
    Column,
    Governance,
    Refused,
    Rewritten,
    Table,
    TableName,
)
from dataos_defs.gateway.rewrite import rewrite
from dataos_defs.manifest.policy_parts import HashMask, Mask, RowFilter
from tests.gateway.support import DictCatalog

CUSTOMER = Table(
    TableName("lakehouse", "sales", "customer"),
    (Column("id", "BIGINT"), Column("email", "VARCHAR"), Column("region", "VARCHAR")),
    '"main"."raw_customer"',
)
ORDERS = Table(
    TableName("lakehouse", "sales", "orders"),
    (Column("id", "BIGINT"), Column("customer_id", "BIGINT"), Column("amount", "BIGINT")),
    '"main"."raw_orders"',
)
PG_CUSTOMER = Table(
    TableName("pg", "sales", "customer"),
    (Column("id", "BIGINT"), Column("email", "VARCHAR")),
    '"main"."raw_pg_customer"',
)
CATALOG = DictCatalog(CUSTOMER, ORDERS, PG_CUSTOMER)
RULES = {
    CUSTOMER.name: Governance(
        masks={"email": AppliedMask("pii", "email", Mask(operator="hash", hash=HashMask()), 1)},
        filters=(
            AppliedFilter("eu", (RowFilter(column="region", operator="equals", value="EU"),)),
        ),
    )
}
CUSTOMER_ROWS = [
    (1, "ann@raw.example", "EU"),
    (2, "bob@raw.example", "US"),
    (3, "cy@raw.example", "EU"),
]
ORDER_ROWS = [(10, 1, 20), (11, 1, 35), (12, 2, 99), (13, 3, 5)]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def governance(table: Table) -> Governance:
    return RULES.get(table.name, Governance())


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE raw_customer (id BIGINT, email VARCHAR, region VARCHAR)")
    connection.executemany("INSERT INTO raw_customer VALUES (?, ?, ?)", CUSTOMER_ROWS)
    connection.execute("CREATE TABLE raw_orders (id BIGINT, customer_id BIGINT, amount BIGINT)")
    connection.executemany("INSERT INTO raw_orders VALUES (?, ?, ?)", ORDER_ROWS)
    connection.execute("CREATE TABLE raw_pg_customer AS SELECT 9 AS id, 'pg@x' AS email")
    yield connection
    connection.close()


def governed(sql: str, **session: str | None) -> Rewritten:
    return rewrite(
        sql,
        CATALOG,
        governance,
        default_catalog=session.get("catalog"),
        default_schema=session.get("schema"),
        may_see=lambda _: True,
    )


def run(db: duckdb.DuckDBPyConnection, sql: str, **session: str | None) -> duckdb.DuckDBPyRelation:
    return db.sql(governed(sql, **session).sql)


# --- reproductions -----------------------------------------------------------------------


def test_quoted_upper_case_names_fold_to_the_dataset(db: duckdb.DuckDBPyConnection) -> None:
    relation = run(db, 'SELECT "EMAIL" FROM lakehouse.sales."CUSTOMER" ORDER BY "ID"')
    assert relation.fetchall() == [(sha("ann@raw.example"),), (sha("cy@raw.example"),)]
    assert relation.columns == ["EMAIL"], "the label is the name as written, as in Trino"


def test_quoted_names_fold_in_every_place(db: duckdb.DuckDBPyConnection) -> None:
    sql = (
        'WITH "Spend" AS (SELECT "CUSTOMER_ID", sum("Amount") AS "Total" FROM "LAKEHOUSE".'
        '"SALES"."ORDERS" GROUP BY 1) SELECT "C"."EMAIL" AS "Mail", spend.total FROM '
        '"LakeHouse"."Sales"."Customer" AS c JOIN SPEND ON "SPEND"."CUSTOMER_ID" = C.ID '
        'ORDER BY "mail"'
    )
    relation = run(db, sql)
    assert relation.columns == ["Mail", "total"]
    expected = [(sha("ann@raw.example"), 55), (sha("cy@raw.example"), 5)]
    assert relation.fetchall() == sorted(expected), 'ORDER BY "mail" is the alias "Mail"'


def test_the_session_catalog_and_schema_fold_too(db: duckdb.DuckDBPyConnection) -> None:
    relation = run(db, 'SELECT count(*) FROM "Customer"', catalog="LAKEHOUSE", schema="Sales")
    assert relation.fetchall() == [(2,)]


def test_a_quoted_name_of_no_dataset_is_still_refused() -> None:
    with pytest.raises(Refused, match=r"table 'lakehouse\.sales\.nope' does not exist"):
        governed('SELECT * FROM lakehouse.sales."NOPE"')
    with pytest.raises(Refused, match="is a system table"):
        governed('SELECT * FROM lakehouse."INFORMATION_SCHEMA"."TABLES"')


def test_show_and_describe_fold_quoted_names(db: duckdb.DuckDBPyConnection) -> None:
    assert run(db, 'SHOW TABLES FROM "LAKEHOUSE"."SALES"').fetchall() == [
        ("customer",),
        ("orders",),
    ]
    assert run(db, 'SHOW SCHEMAS FROM "PG"').fetchall() == [("sales",)]
    described = run(db, 'DESCRIBE "LAKEHOUSE".sales."ORDERS"').fetchall()
    assert [row[0] for row in described] == ["id", "customer_id", "amount"]
    columns = run(db, 'SHOW COLUMNS FROM "PG"."Sales"."CUSTOMER"').fetchall()
    assert [row[0] for row in columns] == ["id", "email"]
    with pytest.raises(Refused, match=r"schema 'lakehouse\.crm' does not exist"):
        governed('SHOW TABLES FROM "LAKEHOUSE"."CRM"')


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT sales.customer.email FROM lakehouse.sales.customer ORDER BY sales.customer.id",
        "SELECT lakehouse.sales.customer.email FROM lakehouse.sales.customer ORDER BY id",
        'SELECT "SALES"."CUSTOMER"."EMAIL" FROM "LAKEHOUSE"."SALES"."CUSTOMER" ORDER BY 1',
        "SELECT customer.email FROM lakehouse.sales.customer ORDER BY customer.id",
    ],
)
def test_a_qualifier_names_the_table_whose_name_ends_with_it(
    db: duckdb.DuckDBPyConnection, sql: str
) -> None:
    """Without a session catalog or schema, as a Trino client without defaults sends it."""
    assert sorted(run(db, sql).fetchall()) == sorted(
        [(sha("ann@raw.example"),), (sha("cy@raw.example"),)]
    )


def test_a_qualifier_ending_two_tables_names_is_refused_as_ambiguous() -> None:
    sql = (
        "SELECT sales.customer.email FROM lakehouse.sales.customer, pg.sales.customer AS p "
        "WHERE lakehouse.sales.customer.id = p.id"
    )
    assert governed(sql).tables == (CUSTOMER.name, PG_CUSTOMER.name), "aliased: not ambiguous"
    both = "SELECT sales.customer.email FROM lakehouse.sales.customer, pg.sales.customer"
    with pytest.raises(Refused) as refused:
        governed(both)
    assert refused.value.message == (
        "column 'sales.customer.email' is ambiguous: 'sales.customer' ends the names of "
        "lakehouse.sales.customer and pg.sales.customer"
    )
    exact = "SELECT pg.sales.customer.email FROM lakehouse.sales.customer, pg.sales.customer"
    assert governed(exact).tables == (CUSTOMER.name, PG_CUSTOMER.name)


def test_a_qualifier_naming_no_table_is_left_to_the_engine(
    db: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(duckdb.Error):
        run(db, "SELECT other.customer.email FROM lakehouse.sales.customer")


# --- the property ------------------------------------------------------------------------

TEMPLATES = [
    "SELECT {id}, {email} FROM {lakehouse}.{sales}.{customer} WHERE {region} = 'EU'",
    "SELECT {c}.{email}, {o}.{amount} FROM {sales}.{customer} AS {c} "
    "JOIN {orders} {o} ON {o}.{customer_id} = {c}.{id}",
    "WITH {spend} AS (SELECT {customer_id}, sum({amount}) AS {total} FROM {orders} "
    "GROUP BY {customer_id}) SELECT {s}.{total}, {c}.{email} FROM {spend} {s} "
    "JOIN {customer} {c} ON {c}.{id} = {s}.{customer_id}",
    "SELECT {sales}.{customer}.{email}, {customer}.{id} FROM {lakehouse}.{sales}.{customer}",
    "SELECT {lakehouse}.{sales}.{orders}.{amount} FROM {orders} WHERE {sales}.{orders}.{id} > 10",
    "SELECT {region}, count(*) AS {n} FROM {customer} GROUP BY {region} ORDER BY {n}",
    "SELECT {x}.{e} FROM (SELECT {email} AS {e} FROM {customer}) AS {x}",
    "SELECT * FROM {customer} WHERE {id} IN (SELECT {customer_id} FROM {sales}.{orders})",
    "SELECT {t}.* FROM {orders} {t} ORDER BY {t}.{id}",
    "SELECT {q}.{m} FROM {customer} AS {q}({k}, {m}, {r}) WHERE {q}.{k} = 1",
    "SELECT {email} FROM {customer} UNION ALL SELECT {email} FROM {pg}.{sales}.{customer}",
]
NAMES = sorted({part.split("}")[0] for template in TEMPLATES for part in template.split("{")[1:]})


@st.composite
def written(draw: st.DrawFn, name: str) -> str:
    """``name`` in random case, quoted or not."""
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    cased = "".join(ch.upper() if flip else ch for ch, flip in zip(name, flips, strict=True))
    return f'"{cased}"' if draw(st.booleans()) else cased


@st.composite
def spelling(draw: st.DrawFn, template: str) -> str:
    """The template with each occurrence of each name written on its own."""
    pieces = template.split("{")
    out = [pieces[0]]
    for piece in pieces[1:]:
        name, rest = piece.split("}", 1)
        out.append(draw(written(name)) + rest)
    return "".join(out)


def _result(db: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], Counter[Any]]:
    relation = run(db, sql, catalog="lakehouse", schema="sales")
    return relation.columns, Counter(relation.fetchall())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), template=st.sampled_from(TEMPLATES))
def test_names_in_any_case_and_quoting_read_as_in_lower_case(
    db: duckdb.DuckDBPyConnection, data: st.DataObject, template: str
) -> None:
    sql = data.draw(spelling(template))
    lower_columns, lower_rows = _result(db, template.format(**{n: n for n in NAMES}))
    columns, rows = _result(db, sql)
    assert rows == lower_rows, sql
    assert [column.lower() for column in columns] == lower_columns, sql
    assert not any("raw.example" in str(value) for row in rows for value in row)
