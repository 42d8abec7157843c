"""Fail closed: every statement, function, table and construct the rewrite cannot prove
governed is refused, and the message names the offending thing."""

from __future__ import annotations

import pytest

from dataos_defs.gateway.analyse import DENIED_FUNCTIONS
from dataos_defs.gateway.model import (
    AppliedFilter,
    AppliedMask,
    Column,
    Governance,
    Refused,
    Table,
    TableName,
)
from dataos_defs.gateway.rewrite import rewrite
from dataos_defs.manifest.policy_parts import HashMask, Mask, RowFilter
from tests.gateway.support import DictCatalog

CUSTOMERS = Table(
    TableName("lakehouse", "shop", "customers"),
    (Column("id", "BIGINT"), Column("email", "VARCHAR"), Column("region", "VARCHAR")),
    '"main"."raw_customers"',
)


ONE_TABLE = DictCatalog(CUSTOMERS)


def refusal(sql: str, rules: Governance | None = None, **options: str | None) -> Refused:
    with pytest.raises(Refused) as raised:
        rewrite(
            sql,
            ONE_TABLE,
            lambda _: rules or Governance(),
            default_catalog=options.get("default_catalog", "lakehouse"),
            default_schema=options.get("default_schema", "shop"),
        )
    assert raised.value.hint, "every refusal says what to do instead"
    return raised.value


STATEMENTS = [
    ("INSERT INTO customers VALUES (1, 'a', 'EU')", "INSERT statements are not accepted"),
    ("UPDATE customers SET email = 'x'", "UPDATE statements are not accepted"),
    ("DELETE FROM customers", "DELETE statements are not accepted"),
    (
        "MERGE INTO customers t USING customers s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "MERGE statements are not accepted",
    ),
    ("CREATE TABLE x AS SELECT * FROM customers", "CREATE statements are not accepted"),
    ("DROP TABLE customers", "DROP statements are not accepted"),
    ("ALTER TABLE customers ADD COLUMN x INT", "ALTER statements are not accepted"),
    ("CALL system.flush_metadata_cache()", "CALL statements are not accepted"),
    ("GRANT SELECT ON customers TO alice", "GRANT statements are not accepted"),
    ("USE lakehouse.shop", "USE statements are not accepted"),
    ("PREPARE p FROM SELECT 1", "PREPARE statements are not accepted"),
    ("EXECUTE p", "EXECUTE statements are not accepted"),
    ("ATTACH 'other.db' AS other", "ATTACH statements are not accepted"),
    ("COPY customers TO 'out.csv'", "COPY statements are not accepted"),
    ("PRAGMA enable_profiling", "PRAGMA statements are not accepted"),
    ("INSTALL httpfs", "INSTALL statements are not accepted"),
    ("LOAD httpfs", "LOAD statements are not accepted"),
    ("SET memory_limit = '1GB'", "SET statements are not accepted"),
    ("select 1; select 2", "2 statements were sent"),
    ("SELECT 1; DROP TABLE customers", "2 statements were sent"),
    ("", "the statement is empty"),
    (" ; -- nothing", "the statement is empty"),
    ("SELECT FROM WHERE (", "cannot parse the statement"),
    ("SELEC email FROM customers", "SELEC statements are not accepted"),
    ("EXPLAIN ANALYZE SELECT * FROM customers", "EXPLAIN ANALYZE and EXPLAIN options"),
    ("EXPLAIN (TYPE DISTRIBUTED) SELECT 1", "EXPLAIN ANALYZE and EXPLAIN options"),
    ("EXPLAIN", "EXPLAIN needs a query"),
    ("EXPLAIN DELETE FROM customers", "DELETE statements are not accepted"),
    ("SHOW SESSION", "this SHOW/DESCRIBE statement is not supported"),
    ("SHOW CREATE TABLE customers", "this SHOW/DESCRIBE statement is not supported"),
    ("SHOW TABLES FROM a.b.c", "this SHOW/DESCRIBE statement is not supported"),
    ("SHOW CATALOGS; DROP TABLE customers", "this SHOW/DESCRIBE statement is not supported"),
    ("DESCRIBE INPUT p", "this SHOW/DESCRIBE statement is not supported"),
]

TABLES = [
    ("SELECT * FROM nope", "table 'lakehouse.shop.nope' does not exist or is not visible"),
    ("SELECT * FROM other.shop.customers", "table 'other.shop.customers' does not exist"),
    ('SELECT * FROM "Nope"', "table 'lakehouse.shop.nope' does not exist"),
    (
        "SELECT * FROM information_schema.tables",
        "'lakehouse.information_schema.tables' is a system table",
    ),
    ("SELECT * FROM system.runtime.nodes", "'system.runtime.nodes' is a system table"),
    ("SELECT * FROM pg_catalog.pg_tables", "'lakehouse.pg_catalog.pg_tables' is a system table"),
    ("SELECT * FROM a.b.c.d", "table function 'c.d' is not allowed"),
    (
        "SELECT id FROM customers WHERE id IN (SELECT id FROM missing)",
        "table 'lakehouse.shop.missing' does not exist",
    ),
    ("WITH x AS (SELECT 1) SELECT * FROM y", "table 'lakehouse.shop.y' does not exist"),
    ("DESCRIBE nope", "table 'lakehouse.shop.nope' does not exist"),
    ("SELECT * FROM 'data.parquet'", "table 'lakehouse.shop.data.parquet' does not exist"),
    ('SELECT * FROM "data.parquet"', "table 'lakehouse.shop.data.parquet' does not exist"),
]

FUNCTIONS = [
    ("SELECT * FROM read_parquet('s3://bucket/x.parquet')", "table function 'READ_PARQUET"),
    ("SELECT * FROM READ_PARQUET('x')", "table function 'READ_PARQUET"),
    ("SELECT * FROM \"read_parquet\"('x')", "table function 'READ_PARQUET"),
    ("SELECT read_parquet('x')", "function 'read_parquet' is not allowed"),
    ("SELECT \"read_parquet\"('x')", "function 'read_parquet' is not allowed"),
    ("SELECT * FROM read_csv('x.csv')", "table function 'READ_CSV"),
    ("SELECT * FROM read_csv_auto('x.csv')", "table function 'READ_CSV_AUTO"),
    ("SELECT * FROM read_json_auto('x.json')", "table function 'READ_JSON_AUTO"),
    ("SELECT * FROM parquet_scan('x')", "table function 'PARQUET_SCAN"),
    ("SELECT * FROM iceberg_scan('x')", "table function 'ICEBERG_SCAN"),
    ("SELECT * FROM postgres_scan('', 'public', 't')", "table function 'POSTGRES_SCAN"),
    ("SELECT * FROM sqlite_scan('x.db', 't')", "table function 'SQLITE_SCAN"),
    ("SELECT * FROM query('SELECT 1')", "table function 'QUERY"),
    ("SELECT * FROM query_table('customers')", "table function 'QUERY_TABLE"),
    ("SELECT * FROM duckdb_settings()", "table function 'DUCKDB_SETTINGS"),
    ("SELECT * FROM pragma_table_info('x')", "table function 'PRAGMA_TABLE_INFO"),
    ("SELECT * FROM generate_series(1, 3)", "table function 'SEQUENCE"),
    ("SELECT * FROM TABLE(system.query(query => 'SELECT 1'))", "table function 'TABLE("),
    ("SELECT getenv('HOME')", "function 'getenv' is not allowed"),
    ("SELECT current_setting('threads')", "function 'current_setting' is not allowed"),
    ("SELECT read_text('/etc/passwd')", "function 'read_text' is not allowed"),
    ("SELECT read_blob('/etc/passwd')", "function 'read_blob' is not allowed"),
    ("SELECT GLOB('*')", "cannot parse the statement"),
    ("SELECT duckdb_extensions()", "function 'duckdb_extensions' is not allowed"),
    ("SELECT Current_User", "function 'current_user' is not allowed"),
    ("SELECT current_schema", "the unqualified name 'current_schema' is not accepted"),
    ('SELECT "user" FROM customers', "the unqualified name 'user' is not accepted"),
    ("SELECT current_catalog()", "function 'current_catalog' is not allowed"),
    ("SELECT nextval('seq')", "function 'nextval' is not allowed"),
    ("SELECT pg_catalog.lower(email) FROM customers", "the qualified function"),
    ("SELECT my_udf(email) FROM customers", "function 'my_udf' is not allowed"),
    (
        "WITH c AS (SELECT 1 AS x) SELECT * FROM c, (SELECT * FROM read_parquet('x')) AS p",
        "table function 'READ_PARQUET",
    ),
]

CONSTRUCTS = [
    ("SELECT * FROM customers FOR UPDATE", "'LOCK' is not supported"),
    ("SELECT * FROM customers TABLESAMPLE BERNOULLI (10)", "table options (sample)"),
    ("SELECT * FROM customers FOR VERSION AS OF 3", "table options (version)"),
    ("SELECT * FROM customers WHERE id = ?", "'?' is not supported"),
    ("SELECT 1 FROM customers t, LATERAL VIEW explode(t.x) AS e", "is not supported"),
    (
        "SELECT * FROM customers MATCH_RECOGNIZE (ORDER BY id PATTERN (a) DEFINE a AS true)",
        "is not supported",
    ),
    ("SELECT * FROM customers", "not fully qualified and the session has no default catalog"),
]


@pytest.mark.parametrize(("sql", "message"), STATEMENTS + TABLES + FUNCTIONS + CONSTRUCTS[:-1])
def test_refused_with_a_message_naming_the_offender(sql: str, message: str) -> None:
    assert message in refusal(sql).message


@pytest.mark.parametrize(
    ("sql", "lacking"),
    [("SELECT * FROM customers", "catalog"), ("SELECT * FROM shop.customers", "catalog")],
)
def test_partial_names_need_the_session_defaults(sql: str, lacking: str) -> None:
    found = refusal(sql, default_catalog=None, default_schema=None)
    assert f"is not fully qualified and the session has no default {lacking}" in found.message


def test_one_part_names_need_a_default_schema() -> None:
    found = refusal("SELECT * FROM customers", default_schema=None)
    assert "the session has no default schema" in found.message


def test_a_policy_on_a_missing_column_refuses_the_table() -> None:
    filters = Governance(
        filters=(
            AppliedFilter(
                "by-country", (RowFilter(column="country", operator="equals", value="IT"),)
            ),
        )
    )
    found = refusal("SELECT id FROM customers", filters)
    assert "data policy 'by-country' filters on column 'country'" in found.message
    masks = Governance(
        masks={"phone": AppliedMask("pii-phone", "phone", Mask(operator="redact"), 99)}
    )
    found = refusal("SELECT id FROM customers", masks)
    assert "data policy 'pii-phone' masks column 'phone'" in found.message


def test_a_mask_the_engine_cannot_apply_refuses_the_query() -> None:
    masks = Governance(
        masks={
            "email": AppliedMask(
                "pii",
                "email",
                Mask.model_construct(operator="hash", hash=HashMask.model_construct(algo="sha512")),
                1,
            )
        }
    )
    assert "sha512" in refusal("SELECT id FROM customers", masks).message


def test_every_denied_function_name_is_a_sqlglot_function() -> None:
    assert {
        "ReadCSV",
        "ReadParquet",
        "CurrentUser",
        "CurrentSchema",
        "NextValueFor",
    } <= DENIED_FUNCTIONS
    assert not {"CurrentDate", "CurrentTimestamp"} & DENIED_FUNCTIONS
