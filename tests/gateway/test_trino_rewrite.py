"""The rewrite for a Trino cluster: Trino SQL that reads back as written, and never a raw
value of a masked column.

* Round trip: whatever the policy (every mask operator with generated parameters, column
  names and Trino types) and the query, the statement sent to Trino parses with sqlglot's
  Trino reader into a tree that writes out as the same text (hypothesis).
* Attack: a plain user's query, however it spells the read (aliases, ``SELECT *``,
  subqueries, CTEs named like the dataset, joins, set operations, qualified and quoted
  names), reaches the raw table only through the governed subquery: every reference to the
  physical table is the FROM of a SELECT equal to the governed one, and the masked column
  is read raw nowhere else.
"""

from __future__ import annotations

import doctest

import pytest
import sqlglot
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlglot import exp

from dataos_defs.gateway import trino_masks
from dataos_defs.gateway.model import (
    AppliedFilter,
    AppliedMask,
    Column,
    Governance,
    Table,
    TableName,
)
from dataos_defs.gateway.rewrite import governed_select, rewrite
from dataos_defs.manifest.policy_parts import HASH_ALGORITHMS, Mask, RowFilter
from dataos_defs.minerva.types import duckdb_type
from tests.gateway.support import DictCatalog

PHYSICAL = '"lakehouse"."shop"."customers"'
TRINO_TYPES = [
    "varchar", "varchar(12)", "char(3)", "integer", "bigint", "tinyint", "real", "double",
    "decimal(10,2)", "date", "timestamp(3)", "timestamp(6) with time zone", "boolean",
    "array(varchar)", "map(varchar, integer)",
]  # fmt: skip
QUERIES = [
    "SELECT * FROM lakehouse.shop.customers",
    "SELECT c.* FROM lakehouse.shop.customers AS c WHERE c.id > 1",
    "SELECT t.* FROM (SELECT * FROM lakehouse.shop.customers) AS t",
    "WITH customers AS (SELECT * FROM lakehouse.shop.customers) SELECT * FROM customers",
    "SELECT a.id, b.id FROM lakehouse.shop.customers a JOIN lakehouse.shop.customers b"
    " ON a.id = b.id",
    "SELECT count(*), max(id) FROM lakehouse.shop.customers",
    "SELECT * FROM lakehouse.shop.customers UNION ALL SELECT * FROM lakehouse.shop.customers",
]


def table(column: str, trino_type: str) -> Table:
    columns = (
        Column("id", "BIGINT", (), "bigint"),
        Column(column, duckdb_type(trino_type), (), trino_type),
    )
    return Table(TableName("lakehouse", "shop", "customers"), columns, PHYSICAL)


TEXT = st.text(st.sampled_from("ab#$\\'\"() 9é-"), max_size=8)


@st.composite
def masks(draw: st.DrawFn) -> Mask:
    """Any mask the policy model accepts, with generated parameters."""
    operator = draw(
        st.sampled_from(
            ["hash", "bucket_number", "bucket_date", "regex_replace", "rand_pattern", "redact"]
        )
    )
    parameters: dict[str, object] = {}
    if operator == "hash":
        parameters = {"algo": draw(st.sampled_from(HASH_ALGORITHMS))}
    elif operator == "bucket_number":
        number = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False).map(
            lambda v: round(v, 3)
        )
        parameters = {"buckets": draw(st.lists(number, min_size=1, max_size=4, unique=True))}
    elif operator == "bucket_date":
        precisions = ["hour", "day", "week", "month", "quarter", "year"]
        parameters = {"precision": draw(st.sampled_from(precisions))}
    elif operator == "regex_replace":
        pattern = draw(st.sampled_from(["[0-9]", "([a-z])([0-9])", "'", "\\\\", "(?P<w>a+)"]))
        parameters = {"pattern": pattern, "replacement": draw(TEXT)}
    elif operator == "rand_pattern":
        parameters = {"pattern": draw(TEXT.filter(bool))}
    else:
        parameters = {"replacement": draw(TEXT)}
    try:
        return Mask.model_validate({"operator": operator, operator: parameters})
    except ValidationError:
        assume(False)
        raise


NAMES = st.text(st.sampled_from("abz_ \"'é9"), min_size=1, max_size=6).filter(
    lambda name: name.lower() == name and name != "id"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mask=masks(),
    column=NAMES,
    trino_type=st.sampled_from(TRINO_TYPES),
    query=st.sampled_from(QUERIES),
)
def test_the_statement_sent_to_trino_reads_back_as_written(
    mask: Mask, column: str, trino_type: str, query: str
) -> None:
    governed = table(column, trino_type)
    governance = Governance(
        masks={column: AppliedMask("m", column, mask, 1)},
        filters=(AppliedFilter("f", (RowFilter(column="id", operator="not_in", value=[2]),)),),
    )
    sql = rewrite(query, DictCatalog(governed), lambda _: governance, write="trino").sql
    tree = sqlglot.parse_one(sql, read="trino")
    assert tree.sql(dialect="trino", identify=True, comments=False) == sql
    assert sqlglot.parse_one(tree.sql(dialect="trino", identify=True), read="trino") == tree
    expected = governed_select(governed, governance, "trino")
    assert any(select == expected for select in tree.find_all(exp.Select)), sql


# -- a plain user's queries on a Trino cluster -------------------------------------------------

CUSTOMERS = Table(
    TableName("lakehouse", "shop", "customers"),
    (
        Column("id", "BIGINT", (), "bigint"),
        Column("email", "VARCHAR", ("PII.Email",), "varchar"),
        Column("region", "VARCHAR", (), "varchar(2)"),
    ),
    PHYSICAL,
)
ORDERS = Table(
    TableName("lakehouse", "shop", "orders"),
    (Column("id", "BIGINT", (), "bigint"), Column("email", "VARCHAR", (), "varchar")),
    '"lakehouse"."shop"."orders"',
)
PLAIN_USER = Governance(
    masks={"email": AppliedMask("email-hash", "email", Mask(operator="hash"), 10)},
    filters=(AppliedFilter("eu", (RowFilter(column="region", operator="equals", value="EU"),)),),
)
ATTACKS = [
    "SELECT email FROM lakehouse.shop.customers",
    "SELECT email AS id, id AS email FROM lakehouse.shop.customers",
    'SELECT "EMAIL" FROM lakehouse.shop."CUSTOMERS"',
    "SELECT * FROM lakehouse.shop.customers",
    "SELECT c.* FROM lakehouse.shop.customers c",
    "SELECT lakehouse.shop.customers.email FROM lakehouse.shop.customers",
    "SELECT x.e FROM (SELECT email AS e FROM lakehouse.shop.customers) x",
    "SELECT (SELECT max(email) FROM lakehouse.shop.customers)",
    "SELECT id FROM lakehouse.shop.orders WHERE email IN (SELECT email FROM lakehouse.shop.customers)",
    "WITH customers AS (SELECT * FROM lakehouse.shop.customers) SELECT email FROM customers",
    "WITH t AS (SELECT email FROM lakehouse.shop.customers), u AS (SELECT * FROM t) SELECT * FROM u",
    "SELECT c.email, o.email FROM lakehouse.shop.customers c JOIN lakehouse.shop.orders o"
    " ON o.email = c.email",
    "SELECT a.email FROM lakehouse.shop.customers a, lakehouse.shop.customers b"
    " WHERE a.email = b.email",
    "SELECT email FROM lakehouse.shop.orders UNION SELECT email FROM lakehouse.shop.customers",
    "SELECT region, count(DISTINCT email) FROM lakehouse.shop.customers GROUP BY region"
    " HAVING max(email) > ''",
    "SELECT email FROM lakehouse.shop.customers WHERE email LIKE 'a%' ORDER BY email",
    "SELECT row_number() OVER (PARTITION BY email ORDER BY email) FROM lakehouse.shop.customers",
    "SELECT * FROM lakehouse.shop.customers CROSS JOIN UNNEST(ARRAY[1]) AS u(n)",
]  # fmt: skip


def governance_of(table_: Table) -> Governance:
    return PLAIN_USER if table_.name.dataset == "customers" else Governance()


@pytest.mark.parametrize("query", ATTACKS)
def test_a_plain_user_never_reads_the_masked_column_raw(query: str) -> None:
    catalog = DictCatalog(CUSTOMERS, ORDERS)
    sql = rewrite(query, catalog, governance_of, write="trino").sql
    tree = sqlglot.parse_one(sql, read="trino")
    governed = governed_select(CUSTOMERS, PLAIN_USER, "trino")
    reads = [t for t in tree.find_all(exp.Table) if t.sql("trino", identify=True) == PHYSICAL]
    assert reads, f"the dataset was read: {sql}"
    for read in reads:
        assert read.find_ancestor(exp.Select) == governed, sql
    governed_selects = [s for s in tree.find_all(exp.Select) if s == governed]
    for select in governed_selects:
        projected = [c for c in select.expressions if isinstance(c, exp.Column)]
        assert "email" not in [c.name for c in projected], f"raw email projected: {sql}"
        masked = [item for item in select.expressions if item.alias == "email"]
        assert [item.this.sql("trino") for item in masked] == [
            'LOWER(TO_HEX(SHA256(TO_UTF8(CAST("email" AS VARCHAR)))))'
        ]
    assert "WHERE \"region\" = 'EU'" in sql


def test_the_governed_subquery_is_trinos_own_sql() -> None:
    """The exact statement a Trino cluster receives for a simple read."""
    sql = rewrite(
        "SELECT email FROM lakehouse.shop.customers",
        DictCatalog(CUSTOMERS),
        governance_of,
        write="trino",
    ).sql
    assert sql == (
        'SELECT "email" FROM (SELECT "id", '
        'LOWER(TO_HEX(SHA256(TO_UTF8(CAST("email" AS VARCHAR))))) AS "email", "region" '
        'FROM "lakehouse"."shop"."customers" WHERE "region" = \'EU\') AS "customers"'
    )


def test_doctests_of_the_trino_masks() -> None:
    assert doctest.testmod(trino_masks).failed == 0
