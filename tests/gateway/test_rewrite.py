"""The rewrite run on a real DuckDB: masks hold everywhere a column can be used, filtered
rows never appear, names resolve as written, SHOW/DESCRIBE answer from the catalog.

The raw tables live under physical names (``raw_*``). DuckDB also holds decoy tables
named like the datasets (``customers``, ``orders``), full of values that must never show:
a name the rewrite failed to replace would read them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import sqlglot

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
from dataos_defs.manifest.policy_parts import (
    BucketDateMask,
    BucketNumberMask,
    HashMask,
    Mask,
    RowFilter,
)
from tests.gateway.support import DictCatalog

CUSTOMERS = Table(
    TableName("lakehouse", "shop", "customers"),
    (
        Column("id", "BIGINT"),
        Column("name", "VARCHAR"),
        Column("email", "VARCHAR", ("PII.Email",)),
        Column("region", "VARCHAR"),
        Column("born", "DATE", ("PII.DateOfBirth",)),
        Column("balance", "DECIMAL(10,2)"),
    ),
    '"main"."raw_customers"',
)
ORDERS = Table(
    TableName("lakehouse", "shop", "orders"),
    (
        Column("id", "BIGINT"),
        Column("customer_id", "BIGINT"),
        Column("amount", "DECIMAL(10,2)"),
        Column("status", "VARCHAR"),
    ),
    '"main"."raw_orders"',
)
NEWSLETTER = Table(
    TableName("lakehouse", "crm", "newsletter"),
    (Column("email", "VARCHAR"),),
    '"main"."raw_newsletter"',
)
# fmt: off
CUSTOMER_ROWS = [
    (1, "Ann", "ann@raw.example", "EU", dt.date(1990, 4, 12), Decimal("12.50")),
    (2, "Bob", "bob@raw.example", "US", dt.date(1985, 11, 30), Decimal("250.00")),
    (3, "Cy", "cy@raw.example", "EU", dt.date(2001, 1, 1), Decimal("1500.00")),
    (4, "Di", None, "EU", None, None),
    (5, "Ed", "ed@raw.example", "EU", dt.date(1990, 12, 31), Decimal("50.00")),
]
ORDER_ROWS = [
    (10, 1, Decimal("20.00"), "paid"), (11, 1, Decimal("35.00"), "paid"),
    (12, 2, Decimal("99.00"), "paid"), (13, 3, Decimal("5.00"), "test"),
    (14, 4, Decimal("42.00"), "paid"),
]
# fmt: on
RAW_EMAILS = {row[2] for row in CUSTOMER_ROWS if row[2]}
EU_IDS = {row[0] for row in CUSTOMER_ROWS if row[3] == "EU"}
GOVERNANCE = {
    CUSTOMERS.name: Governance(
        masks={
            "email": AppliedMask("pii-email", "email", Mask(operator="hash", hash=HashMask()), 99),
            "born": AppliedMask(
                "pii-dob",
                "born",
                Mask(operator="bucket_date", bucket_date=BucketDateMask(precision="year")),
                99,
            ),
            "balance": AppliedMask(
                "balance-buckets",
                "balance",
                Mask(
                    operator="bucket_number",
                    bucket_number=BucketNumberMask(buckets=[0, 100, 1000]),
                ),
                50,
            ),
        },
        filters=(
            AppliedFilter("eu-only", (RowFilter(column="region", operator="equals", value="EU"),)),
        ),
    ),
    ORDERS.name: Governance(
        filters=(
            AppliedFilter(
                "no-test-orders",
                (RowFilter(column="status", operator="not_equals", value="test"),),
            ),
        ),
        exempted=("ops-pass",),
    ),
}


CATALOG = DictCatalog(CUSTOMERS, ORDERS, NEWSLETTER)


def governance(table: Table) -> Governance:
    return GOVERNANCE.get(table.name, Governance())


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE raw_customers (id BIGINT, name VARCHAR, email VARCHAR, region VARCHAR, "
        "born DATE, balance DECIMAL(10,2))"
    )
    connection.executemany("INSERT INTO raw_customers VALUES (?, ?, ?, ?, ?, ?)", CUSTOMER_ROWS)
    connection.execute(
        "CREATE TABLE raw_orders (id BIGINT, customer_id BIGINT, amount DECIMAL(10,2), "
        "status VARCHAR)"
    )
    connection.executemany("INSERT INTO raw_orders VALUES (?, ?, ?, ?)", ORDER_ROWS)
    connection.execute(
        "CREATE TABLE raw_newsletter AS SELECT * FROM (VALUES ('ann@raw.example'), ('cy@raw.example')) v(email)"
    )
    connection.execute("CREATE TABLE customers AS SELECT * FROM raw_customers")
    connection.execute("UPDATE customers SET email = 'leak@decoy', region = 'EU'")
    connection.execute("CREATE TABLE orders AS SELECT * FROM raw_orders")
    yield connection
    connection.close()


def governed(sql: str, **options: Any) -> Rewritten:
    options.setdefault("default_catalog", "lakehouse")
    options.setdefault("default_schema", "shop")
    return rewrite(sql, CATALOG, governance, **options)


def run(db: duckdb.DuckDBPyConnection, sql: str, **options: Any) -> list[tuple[Any, ...]]:
    rows = db.sql(governed(sql, **options).sql).fetchall()
    assert not any("leak@decoy" in str(row) for row in rows)
    return rows


def masked_customer(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """What the policies above make of a raw customer row (computed here, in Python)."""
    id_, name, email, region, born, balance = row
    bucket = None if balance is None else max(b for b in (0, 100, 1000) if b <= balance)
    return (
        id_,
        name,
        None if email is None else sha(email),
        region,
        None if born is None else dt.date(born.year, 1, 1),
        None if bucket is None else Decimal(bucket).quantize(Decimal("0.01")),
    )


def test_select_star_shows_masked_values_of_kept_rows_only(db: duckdb.DuckDBPyConnection) -> None:
    expected = sorted(masked_customer(row) for row in CUSTOMER_ROWS if row[3] == "EU")
    assert sorted(run(db, "SELECT * FROM customers")) == expected
    assert sorted(run(db, "SELECT c.* FROM lakehouse.shop.customers AS c")) == expected


def test_result_types_are_the_unmasked_types(db: duckdb.DuckDBPyConnection) -> None:
    described = db.sql(f"DESCRIBE {governed('SELECT * FROM customers').sql}").fetchall()
    raw = db.sql("DESCRIBE raw_customers").fetchall()
    assert [(row[0], row[1]) for row in described] == [(row[0], row[1]) for row in raw]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM customers WHERE email = 'ann@raw.example'",
        "SELECT id FROM customers WHERE email LIKE 'ann%'",
        "SELECT id FROM customers WHERE email IN (SELECT email FROM crm.newsletter)",
        "SELECT c.id FROM customers c JOIN crm.newsletter n ON n.email = c.email",
        "SELECT id FROM customers WHERE region = 'US'",
        "SELECT id FROM customers WHERE id = 2",
        "SELECT id FROM customers WHERE born = DATE '1990-04-12'",
        "SELECT id FROM customers WHERE balance = 12.50",
        "SELECT id FROM orders WHERE status = 'test'",
        "SELECT o.id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 2",
    ],
)
def test_raw_values_and_filtered_rows_match_nothing(
    db: duckdb.DuckDBPyConnection, sql: str
) -> None:
    assert run(db, sql) == []


def test_masked_values_are_what_predicates_compare(db: duckdb.DuckDBPyConnection) -> None:
    hashed = sha("ann@raw.example")
    assert run(db, f"SELECT id FROM customers WHERE email = '{hashed}'") == [(1,)]
    assert sorted(run(db, "SELECT id FROM customers WHERE born = DATE '1990-01-01'")) == [
        (1,),
        (5,),
    ]


def test_counts_see_only_kept_rows(db: duckdb.DuckDBPyConnection) -> None:
    assert run(db, "SELECT count(*) FROM customers") == [(len(EU_IDS),)]
    assert run(db, "SELECT count(*) FROM orders") == [(4,)]
    joined = "SELECT count(*) FROM customers c JOIN orders o ON o.customer_id = c.id"
    assert run(db, joined) == [(3,)]
    nested = "SELECT count(*) FROM (customers c JOIN orders o ON o.customer_id = c.id)"
    assert run(db, nested) == [(3,)]


def test_group_by_groups_masked_values(db: duckdb.DuckDBPyConnection) -> None:
    rows = run(db, "SELECT born, count(*) AS n FROM customers GROUP BY born")
    assert sorted(rows, key=str) == sorted(
        [(dt.date(1990, 1, 1), 2), (dt.date(2001, 1, 1), 1), (None, 1)], key=str
    )
    by_email = run(db, "SELECT email, count(*) FROM customers GROUP BY 1")
    assert not {email for email, _ in by_email} & RAW_EMAILS


def test_window_partitions_by_masked_values(db: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "SELECT id, count(*) OVER (PARTITION BY balance) AS n, "
        "max(email) OVER (PARTITION BY born ORDER BY id) AS top FROM customers"
    )
    rows = {row[0]: row[1:] for row in run(db, sql)}
    assert {id_: n for id_, (n, _) in rows.items()} == {1: 2, 5: 2, 3: 1, 4: 1}
    assert rows[5][1] == max(sha("ann@raw.example"), sha("ed@raw.example"))


def test_order_by_sorts_masked_values(db: duckdb.DuckDBPyConnection) -> None:
    rows = run(db, "SELECT email FROM customers WHERE email IS NOT NULL ORDER BY email DESC")
    expected = sorted(
        (sha(row[2]) for row in CUSTOMER_ROWS if row[3] == "EU" and row[2]), reverse=True
    )
    assert [email for (email,) in rows] == expected


def test_subqueries_ctes_and_unions_read_masked_data(db: duckdb.DuckDBPyConnection) -> None:
    hashes = {sha(row[2]) for row in CUSTOMER_ROWS if row[3] == "EU" and row[2]}
    assert run(db, "SELECT (SELECT max(balance) FROM customers)") == [(Decimal("1000.00"),)]
    cte = "WITH c AS (SELECT * FROM customers) SELECT email FROM c WHERE email IS NOT NULL"
    assert {email for (email,) in run(db, cte)} == hashes
    union = "SELECT email FROM customers UNION SELECT email FROM lakehouse.shop.customers"
    assert {email for (email,) in run(db, union)} == hashes | {None}
    derived = "SELECT s.e FROM (SELECT email AS e FROM shop.customers) AS s WHERE s.e IS NOT NULL"
    assert {email for (email,) in run(db, derived)} == hashes
    exists = (
        "SELECT c.id FROM customers c WHERE EXISTS "
        "(SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = 'test')"
    )
    assert run(db, exists) == []


def test_a_cte_named_like_a_dataset_is_the_cte(db: duckdb.DuckDBPyConnection) -> None:
    assert run(db, "WITH customers AS (SELECT 'cte' AS email) SELECT email FROM customers") == [
        ("cte",)
    ]
    shadow = "WITH orders AS (SELECT * FROM customers) SELECT count(*) FROM orders"
    assert run(db, shadow) == [(len(EU_IDS),)]
    qualified = "WITH orders AS (SELECT 1 AS x) SELECT count(*) FROM shop.orders"
    assert run(db, qualified) == [(4,)]
    inner = (
        "WITH customers AS (SELECT 1 AS id) "
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM shop.customers)"
    )
    assert run(db, inner) == [(1, len(EU_IDS))]


def test_a_cte_sees_only_the_ctes_before_it(db: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "WITH a AS (SELECT count(*) AS n FROM orders), orders AS (SELECT 1 AS x) "
        "SELECT a.n, (SELECT count(*) FROM orders) FROM a"
    )
    assert run(db, sql) == [(4, 1)]
    recursive = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
        "SELECT count(*) FROM r"
    )
    assert run(db, recursive) == [(3,)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT customers.email FROM customers WHERE customers.id = 1",
        "SELECT shop.customers.email FROM shop.customers WHERE shop.customers.id = 1",
        "SELECT lakehouse.shop.customers.email FROM lakehouse.shop.customers "
        "WHERE lakehouse.shop.customers.id = 1",
        "SELECT lakehouse.shop.customers.email FROM customers WHERE id = 1",
        'SELECT "EMAIL" FROM LakeHouse.SHOP.Customers WHERE ID = 1',
        'SELECT "customers"."email" FROM "lakehouse"."shop"."customers" WHERE "id" = 1',
        "SELECT C.Email FROM Customers AS c WHERE c.ID = 1",
        "SELECT x.e FROM customers AS x(i, n, e, r, b, m) WHERE x.i = 1",
    ],
)
def test_qualified_quoted_and_case_varied_names(db: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert run(db, sql) == [(sha("ann@raw.example"),)]


def test_unnest_and_lateral_read_masked_values(db: duckdb.DuckDBPyConnection) -> None:
    unnest = (
        "SELECT c.id, u.x FROM customers c CROSS JOIN UNNEST(ARRAY[c.email]) AS u(x) WHERE c.id = 1"
    )
    assert run(db, unnest) == [(1, sha("ann@raw.example"))]
    lateral = (
        "SELECT c.id, l.n FROM customers c, "
        "LATERAL (SELECT count(*) AS n FROM orders o WHERE o.customer_id = c.id) l ORDER BY c.id"
    )
    assert run(db, lateral) == [(1, 2), (3, 0), (4, 1), (5, 0)]


def test_rewritten_names_datasets_and_policies() -> None:
    result = governed(
        "SELECT * FROM orders o JOIN lakehouse.shop.customers c ON c.id = o.customer_id "
        "JOIN crm.newsletter n ON n.email = c.email JOIN Customers x ON x.id = c.id"
    )
    assert result.kind == "select"
    assert result.tables == (NEWSLETTER.name, CUSTOMERS.name, ORDERS.name)
    assert result.policies == {
        "lakehouse.crm.newsletter": (),
        "lakehouse.shop.customers": ("balance-buckets", "eu-only", "pii-dob", "pii-email"),
        "lakehouse.shop.orders": ("no-test-orders", "ops-pass"),
    }
    assert "lakehouse" not in result.sql
    assert result.sql.count('"main"."raw_customers"') == 2


def test_explain_of_governed_data_shows_the_governed_statement(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Not the engine's plan: its statistics describe raw values and filtered rows."""
    result = governed("EXPLAIN SELECT email FROM customers WHERE id = 1")
    assert result.kind == "explain"
    assert result.tables == (CUSTOMERS.name,)
    ((statement,),) = db.sql(result.sql).fetchall()
    assert statement.startswith("SELECT") and "raw_customers" in statement
    assert "sha256" in statement.lower()


def test_explain_without_policies_is_the_engines_plan(db: duckdb.DuckDBPyConnection) -> None:
    result = rewrite(
        "EXPLAIN SELECT email FROM lakehouse.shop.customers WHERE id = 1",
        CATALOG,
        lambda _table: Governance(),
    )
    assert result.sql.startswith("EXPLAIN SELECT")
    plan = "\n".join(str(row) for row in db.sql(result.sql).fetchall())
    assert "raw_customers" in plan


def test_trino_as_the_engine_dialect() -> None:
    result = governed("SELECT email FROM customers", write="trino")
    tree = sqlglot.parse_one(result.sql, read="trino")
    physical = tree.find(sqlglot.exp.Table)
    assert physical is not None
    assert physical.sql("trino") == '"main"."raw_customers"'


def test_show_lists_only_what_the_caller_may_see(db: duckdb.DuckDBPyConnection) -> None:
    def may_see(name: TableName) -> bool:
        return name != NEWSLETTER.name

    def show(sql: str) -> list[tuple[Any, ...]]:
        result = governed(sql, may_see=may_see)
        assert result.kind == "show" and result.policies == {}
        return db.sql(result.sql).fetchall()

    assert show("SHOW CATALOGS") == [("lakehouse",)]
    assert show("SHOW SCHEMAS FROM lakehouse") == [("shop",)]
    assert show("show schemas") == [("shop",)]
    assert show("SHOW TABLES FROM lakehouse.shop") == [("customers",), ("orders",)]
    assert show("SHOW TABLES") == [("customers",), ("orders",)]
    assert show("SHOW TABLES IN shop LIKE 'c%';") == [("customers",)]
    with pytest.raises(Refused, match=r"schema 'lakehouse\.crm' does not exist or is not visible"):
        show("SHOW TABLES FROM lakehouse.crm")
    with pytest.raises(Refused, match="catalog 'other' does not exist or is not visible"):
        show("SHOW SCHEMAS FROM other")


def test_an_empty_answer_is_typed(db: duckdb.DuckDBPyConnection) -> None:
    relation = db.sql(governed("SHOW TABLES LIKE 'zzz%'", may_see=lambda _: True).sql)
    assert relation.fetchall() == []
    assert relation.columns == ["Table"]
    relation = db.sql(governed("SHOW CATALOGS", may_see=lambda _: False).sql)
    assert (relation.fetchall(), relation.columns, relation.types) == ([], ["Catalog"], ["VARCHAR"])


def test_describe_and_show_columns(db: duckdb.DuckDBPyConnection) -> None:
    result = governed("DESCRIBE lakehouse.shop.customers", may_see=lambda _: True)
    assert (result.kind, result.tables) == ("describe", (CUSTOMERS.name,))
    relation = db.sql(result.sql)
    assert relation.columns == ["Column", "Type", "Extra", "Comment"]
    assert relation.fetchall() == [
        ("id", "bigint", "", ""),
        ("name", "varchar", "", ""),
        ("email", "varchar", "", ""),
        ("region", "varchar", "", ""),
        ("born", "date", "", ""),
        ("balance", "decimal(10,2)", "", ""),
    ]
    columns = governed("SHOW COLUMNS FROM orders LIKE '%id'", may_see=lambda _: True)
    assert db.sql(columns.sql).fetchall() == [
        ("id", "bigint", "", ""),
        ("customer_id", "bigint", "", ""),
    ]
    with pytest.raises(Refused, match="does not exist or is not visible"):
        governed("DESCRIBE customers", may_see=lambda _: False)
