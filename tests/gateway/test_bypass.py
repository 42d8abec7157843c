"""The Gateway attacked: every way found to reach raw values, filtered rows, unlisted
datasets, internal tables, files, settings or side effects is refused or yields only
governed data.

The raw datasets live where the embedded engine keeps them (``"__minerva__"."<dataset id>"``)
and decoys sit under the dataset names in DuckDB's default schema. Raw values carry markers
(``raw.example`` e-mails, ``FILTERED`` on the row the filter removes, ``DECOY``,
``TOPSECRET`` in a dataset a query must list to read): no result and no error message of
an accepted query may hold one it is not entitled to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from dataos_defs.gateway.fidelity import check_lexed
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
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.policy_parts import HashMask, Mask, RowFilter
from dataos_defs.minerva.embedded import EmbeddedCluster
from tests.gateway.support import DictCatalog

CUSTOMERS = Table(
    TableName("lakehouse", "shop", "customers"),
    (
        Column("id", "BIGINT"),
        Column("name", "VARCHAR"),
        Column("email", "VARCHAR"),
        Column("region", "VARCHAR"),
        Column("salary", "BIGINT"),
    ),
    '"__minerva__"."lakehouse.shop.customers"',
)
SECRET = Table(
    TableName("lakehouse", "shop", "secret"),
    (Column("s", "VARCHAR"),),
    '"__minerva__"."lakehouse.shop.secret"',
)
ROWS = [
    (1, "Ann", "ann@raw.example", "EU", 100),
    (2, "Bob-FILTERED", "bob@raw.example", "US", 990000),
    (3, "Cy", "cy@raw.example", "EU", 2500),
]
RULES = Governance(
    masks={"email": AppliedMask("pii", "email", Mask(operator="hash", hash=HashMask()), 1)},
    filters=(AppliedFilter("eu", (RowFilter(column="region", operator="equals", value="EU"),)),),
)
RAW_MARKERS = ("raw.example", "FILTERED", "990000", "DECOY", f"'{Path.home()}'")
SECRET_MARKER = "TOPSECRET"


CATALOG = DictCatalog(CUSTOMERS, SECRET)


def governed(sql: str) -> Rewritten:
    return rewrite(
        sql,
        CATALOG,
        lambda table: RULES if table.name == CUSTOMERS.name else Governance(),
        default_catalog="lakehouse",
        default_schema="shop",
        may_see=lambda name: name == CUSTOMERS.name,
    )


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute('CREATE SCHEMA "__minerva__"')
    connection.execute(
        'CREATE TABLE "__minerva__"."lakehouse.shop.customers" '
        "(id BIGINT, name VARCHAR, email VARCHAR, region VARCHAR, salary BIGINT)"
    )
    connection.executemany(
        'INSERT INTO "__minerva__"."lakehouse.shop.customers" VALUES (?, ?, ?, ?, ?)', ROWS
    )
    connection.execute(
        f'CREATE TABLE "__minerva__"."lakehouse.shop.secret" AS SELECT \'{SECRET_MARKER}\' AS s'
    )
    connection.execute("CREATE TABLE customers AS SELECT 'DECOY' AS email, 'DECOY' AS name")
    yield connection
    connection.close()


def leaked(text: str, result: Rewritten) -> list[str]:
    """The raw markers in ``text`` the query had no right to see."""
    markers = list(RAW_MARKERS)
    if SECRET.name not in result.tables:
        markers.append(SECRET_MARKER)
    return [marker for marker in markers if marker in text]


def outcome(db: duckdb.DuckDBPyConnection, result: Rewritten) -> str:
    """The rows, or the engine's error message: both are what the caller gets to see."""
    try:
        return str(db.sql(result.sql).fetchall())
    except duckdb.Error as error:
        return str(error)


def run(db: duckdb.DuckDBPyConnection, sql: str) -> str:
    result = governed(sql)
    seen = outcome(db, result)
    assert not leaked(seen, result), (sql, result.sql, seen)
    return seen


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


INJECTIONS = [
    'SELECT $a$, \'$a$ AS x, * FROM "__minerva__"."lakehouse.shop.customers" --\'',
    'SELECT $a$ AS k, \'$a$ AS x, * FROM "__minerva__"."lakehouse.shop.secret" --\' FROM customers',
    'SELECT id AS $a$, \'$a$ AS q, * FROM "__minerva__"."lakehouse.shop.secret" --\' '
    "FROM customers",
    "SELECT $$x$$",
    "SELECT $1 FROM customers",
    "SELECT a$b FROM customers",
    "SELECT INTERVAL '1' $a$",
    "SELECT EXTRACT($a$ FROM DATE '2020-01-01')",
    "SELECT CAST(ROW(1) AS ROW($a$ INTEGER))",
    "SELECT * FROM customers AS $a$",
    "SELECT cu\u017ftomers.id FROM customers AS cu\u017ftomers",  # a long s
]


@pytest.mark.parametrize("sql", INJECTIONS)
def test_words_the_engine_would_read_as_quotes_are_refused(sql: str) -> None:
    """DuckDB reads ``$a$ ... $a$`` as a string: an identifier ``$a$`` and a literal holding
    ``$a$`` turned the literal's text into code, reading raw tables unlisted."""
    with pytest.raises(Refused, match=r"is not a plain name|is not accepted"):
        governed(sql)


def test_quoted_names_are_only_names(db: duckdb.DuckDBPyConnection) -> None:
    seen = run(db, 'SELECT c."$a$" FROM (SELECT email AS "$a$" FROM customers) AS c')
    assert sha("ann@raw.example") in seen
    assert run(db, 'SELECT 1 AS "x"" FROM secret --"') == "[(1,)]"


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT $a$, \'$a$ AS x, * FROM "__minerva__"."t" --\'',
        "SELECT 1 -- hidden",
        "SELECT /* hidden */ 1",
        "SELECT 1; SELECT 2",
        "SELECT E'\\x41'",
        "SELECT $1",
        "SELECT ?",
        "SELECT 'unterminated",
    ],
)
def test_sql_the_engine_would_lex_differently_is_refused(sql: str) -> None:
    """The last check on the rewritten SQL, whatever let such text through."""
    with pytest.raises(Refused, match="cannot be written for the engine"):
        check_lexed(sql, "duckdb")


def test_governed_sql_lexes_as_written() -> None:
    check_lexed(governed("SELECT email, 'it''s' AS \"a b\" FROM customers").sql, "duckdb")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT CAST(email AS INET) FROM customers", "the type 'INET'"),
        ("SELECT TRY_CAST('1' AS ipaddress)", "the type 'IPADDRESS'"),
        ("SELECT CAST(x AS hyperloglog) FROM customers", "the type"),
        ("SELECT CAST(id AS tdigest) FROM customers", "the type"),
    ],
)
def test_types_the_engine_would_install_an_extension_for_are_refused(
    sql: str, message: str
) -> None:
    """DuckDB downloads and loads the ``inet`` extension for ``CAST(... AS INET)``."""
    with pytest.raises(Refused, match=message):
        governed(sql)


def test_standard_types_are_accepted(db: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "SELECT CAST(id AS integer), CAST(id AS decimal(10,2)), CAST(id AS varchar(3)), "
        "CAST(ARRAY[id] AS array(bigint)), CAST(ROW(id) AS row(a bigint)), "
        "CAST(email AS json), CAST(TIMESTAMP '2024-01-01 00:00:00' AS timestamp(3) with time "
        "zone), CAST('1' AS interval day to second) IS NULL FROM customers WHERE id = 1"
    )
    run(db, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT element_at(ARRAY[1])",
        "SELECT DATETIME(1)",
        "SELECT VAR_MAP(1)",
        "SELECT INITCAP()",
        "SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> s)",
        "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    ],
)
def test_what_sqlglot_cannot_handle_is_refused_not_a_crash(sql: str) -> None:
    with pytest.raises(Refused):
        governed(sql)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT * FROM "__minerva__"."lakehouse.shop.customers"',
        'SELECT * FROM __minerva__."lakehouse.shop.secret"',
        'SELECT * FROM lakehouse."__minerva__"."lakehouse.shop.customers"',
        "SELECT * FROM 'customers.csv'",
        "FROM customers SELECT email",
        "SUMMARIZE customers",
        "SELECT * FROM customers PIVOT (count(*) FOR region IN ('EU'))",
        "SELECT * FROM customers c POSITIONAL JOIN secret s",
        "SELECT * FROM customers USING SAMPLE 10",
        "SELECT email FROM customers QUALIFY true",
        "TABLE customers",
        "SELECT * FROM glob('*')",
        "SELECT * FROM query_table('customers')",
        "SELECT query('SELECT 1')",
        "SELECT getvariable('x')",
        "SELECT which_secret('s3://x', 's3')",
        "SELECT json_serialize_plan('SELECT * FROM customers')",
        "SELECT pg_get_viewdef('x')",
        "SELECT write_log('x')",
        "SELECT stats(salary) FROM customers",
        "SELECT current_query()",
        "SELECT setseed(0.5)",
        "SELECT sleep_ms(1000)",
        "SELECT error(email) FROM customers",
        "SELECT list_transform([1], x -> 1)",
        "WITH x AS (SELECT 1) INSERT INTO customers SELECT * FROM x",
        "EXPLAIN /**/ ANALYZE SELECT 1",
        "EXPLAIN EXPLAIN SELECT 1",
        'SHOW COLUMNS FROM "__minerva__"."lakehouse.shop.secret"',
        "DESCRIBE secret",
        'SHOW TABLES FROM "__minerva__"',
    ],
)
def test_engine_internals_files_and_settings_are_refused(sql: str) -> None:
    with pytest.raises(Refused):
        governed(sql)


ENGINE_REACHING = re.compile(
    r"read_\w+|glob|query|query_table|pg_\w+|duckdb_\w+|pragma_\w+|has_\w+_privilege|"
    r"current_(setting|query|query_id|user|role|schema|schemas|database|catalog|"
    r"connection_id|transaction_id)|getenv|getvariable|session_user|user|currval|nextval|"
    r"setval|txid_current|col_description|obj_description|shobj_description|"
    r"json_serialize_plan|json_serialize_sql|json_deserialize_sql|write_log|stats|alias|"
    r"setseed|sleep_ms|which_secret|in_search_path|inet_\w+|parse_duckdb_log_message|"
    r"invoke|version"
)
"""DuckDB functions that reach beyond their arguments: files, settings, the session, the
catalog, sequences, the log, the clock of the process."""


def test_no_accepted_function_reaches_the_engine_beyond_its_arguments() -> None:
    """Every function Trino's reader knows, with a few argument lists: sqlglot may write a
    typed function as any DuckDB function; none it writes may be one of those."""
    trino = Dialect.get_or_raise("trino").parser_class
    names = {n for n in (*trino.FUNCTIONS, *trino.FUNCTION_PARSERS) if isinstance(n, str)}
    reached: set[str] = set()
    for name in sorted(names):
        for arguments in ("", "1", "1, 2", "'a', 2", "1, 2, 3", "ARRAY[1], 1"):
            try:
                sql = governed(f"SELECT {name}({arguments})").sql
            except Refused:
                continue
            reached |= {call.lower() for call in re.findall(r"(\w+)\s*\(", sql)}
    assert len(reached) > 150
    assert sorted(call for call in reached if ENGINE_REACHING.fullmatch(call)) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * EXCLUDE (id) FROM customers",
        "SELECT * REPLACE (name AS email) FROM customers",
        "SELECT * RENAME (email AS e) FROM customers",
        "SELECT COLUMNS(*) FROM customers",
        "SELECT region, max(email) FROM customers GROUP BY ALL",
        "SELECT * FROM customers UNION BY NAME SELECT * FROM customers",
        "SELECT customers FROM customers",
        "SELECT CAST(c AS VARCHAR) FROM customers c",
        "SELECT json_format(CAST(MAP(ARRAY['e'], ARRAY[email]) AS JSON)) FROM customers",
        "SELECT * FROM customers c, LATERAL (SELECT c.email, c.name) l",
        "SELECT * FROM customers c WHERE c.id IN (SELECT id FROM customers x "
        "WHERE x.email = c.email)",
        "SELECT max(email) OVER (ORDER BY salary ROWS BETWEEN UNBOUNDED PRECEDING "
        "AND UNBOUNDED FOLLOWING) FROM customers",
        "SELECT id FROM customers ORDER BY salary DESC, email LIMIT 1",
        "SELECT * FROM customers ASOF JOIN customers d ON customers.id >= d.id",
        "SELECT * FROM customers c SEMI JOIN customers d ON c.email = d.email",
        'SELECT "__minerva__".id FROM customers AS "__minerva__"',
        'WITH "__minerva__" AS (SELECT 1 AS x) SELECT * FROM customers',
        "WITH customers AS (SELECT * FROM customers) SELECT * FROM customers",
        "SELECT * FROM (VALUES (1)) AS customers, shop.customers",
        "SELECT * FROM customers WHERE email = 'ann@raw.example' OR region = 'US'",
        "SELECT count(*) FILTER (WHERE region = 'US') FROM customers",
        "SELECT CAST(email AS INTEGER) FROM customers",
        "SELECT id FROM customers WHERE CAST(IF(region <> 'EU', name, '1') AS INTEGER) = 1",
        "SELECT current_date, localtimestamp",
    ],
)
def test_duckdb_syntax_and_tricks_read_only_governed_data(
    db: duckdb.DuckDBPyConnection, sql: str
) -> None:
    run(db, sql)


def test_masks_apply_before_comparisons_and_errors(db: duckdb.DuckDBPyConnection) -> None:
    assert run(db, "SELECT id FROM customers WHERE email = 'ann@raw.example'") == "[]"
    assert run(db, f"SELECT id FROM customers WHERE email = '{sha('ann@raw.example')}'") == (
        "[(1,)]"
    )
    assert sha("ann@raw.example") in run(
        db, "SELECT CAST(email AS INTEGER) FROM customers ORDER BY id"
    )


def test_session_values_are_not_answered(db: duckdb.DuckDBPyConnection) -> None:
    for name in ("user", "current_user", "session_user", "current_role", "current_schema"):
        for written in (name, f'"{name}"', f"({name})"):
            with pytest.raises(Refused):
                governed(f"SELECT {written} FROM customers")


@pytest.fixture(scope="module")
def wide() -> Iterator[duckdb.DuckDBPyConnection]:
    """20,000 rows: enough for DuckDB to push filters and reorder them."""
    connection = duckdb.connect()
    connection.execute('CREATE SCHEMA "__minerva__"')
    connection.execute(
        'CREATE TABLE "__minerva__"."lakehouse.shop.customers" AS SELECT i AS id, '
        "CASE WHEN i < 100 THEN CAST(i AS VARCHAR) ELSE 'FILTERED' || i END AS name, "
        "'e' || i || '@raw.example' AS email, CASE WHEN i < 100 THEN 'EU' ELSE 'US' END "
        "AS region, i AS salary FROM range(20000) AS t(i)"
    )
    yield connection
    connection.close()


@pytest.mark.parametrize(
    "predicate",
    [
        "CAST(IF(region <> 'EU', name, '1') AS INTEGER) = 1",
        "CAST(IF(salary >= 100, name, '1') AS INTEGER) = 1",
        "id + 1 > 0 AND CAST(IF(region = 'US', name, '1') AS INTEGER) = 1",
        "abs(CAST(salary AS INTEGER) + 2147483000) > 0",
        "CAST(name AS INTEGER) = 5",
        "name = 5",
        "CAST(name AS INTEGER) IN (5, 7) OR CAST(name AS DOUBLE) < 1",
    ],
)
def test_user_predicates_never_see_rows_the_filter_removes(
    wide: duckdb.DuckDBPyConnection, predicate: str
) -> None:
    """A predicate that fails only on a filtered row would print its raw value if the engine
    evaluated it before the row filter; DuckDB evaluates the policy's filter first."""
    result = governed(f"SELECT count(*) FROM customers WHERE {predicate}")
    seen = outcome(wide, result)
    assert not leaked(seen, result), seen
    assert seen.startswith("[("), seen


def physical_reads(result: Rewritten) -> set[str]:
    tree = sqlglot.parse_one(result.sql.removeprefix("EXPLAIN "), read="duckdb")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    return {t.sql("duckdb") for t in tree.find_all(exp.Table) if t.name not in ctes}


PLACES = [
    "SELECT {w}, {s} FROM customers",
    "SELECT id AS {w}, {s} FROM customers",
    "SELECT {w}.email, {s} FROM customers AS {w}",
    "SELECT INTERVAL '1' {w}, {s}",
    "SELECT EXTRACT({w} FROM DATE '2020-01-01'), {s}",
    "SELECT CAST(ROW(1) AS ROW({w} INTEGER)), {s}",
    "SELECT transform(ARRAY[1], {w} -> {s})",
    "WITH {w} AS (SELECT {s} AS x) SELECT * FROM {w}",
    "SELECT count(*) OVER {w}, {s} FROM customers WINDOW {w} AS (ORDER BY id)",
]
"""Where a user's word lands verbatim or as a name, followed by a string literal."""
OPENERS = ["$a$", "$$", "$_$", "$a1$", "a$", "$1", "$"]
PAYLOADS = [
    '* FROM "__minerva__"."lakehouse.shop.secret"',
    'name FROM "__minerva__"."lakehouse.shop.customers"',
    "* FROM customers",
    "getenv('HOME')",
]


def smuggled(opener: str, payload: str) -> str:
    """A string literal that, if ``opener`` opened a dollar quote, ends it and runs code."""
    text = f"{opener} AS x, {payload} --"
    return "'" + text.replace("'", "''") + "'"


@given(st.sampled_from(PLACES), st.sampled_from(OPENERS), st.sampled_from(PAYLOADS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_placement_of_a_word_smuggles_code_past_the_analyser(
    db: duckdb.DuckDBPyConnection, place: str, opener: str, payload: str
) -> None:
    sql = place.format(w=opener, s=smuggled(opener, payload))
    try:
        result = governed(sql)
    except Refused:
        return
    allowed = {f'"__minerva__"."{name.dataset_id}"' for name in result.tables}
    assert physical_reads(result) <= allowed, (sql, result.sql)
    seen = outcome(db, result)
    assert not leaked(seen, result), (sql, result.sql, seen)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT * FROM lakehouse."shop/x".customers',
        'SELECT * FROM lakehouse."shop:x".customers',
        'SELECT * FROM lakehouse."shop.customers".x',
        'SELECT * FROM lakehouse.shop."a.b"',
        'SELECT * FROM lakehouse.shop.""',
        'DESCRIBE lakehouse."shop/x".customers',
    ],
)
def test_names_whose_address_would_read_as_other_parts_are_not_looked_up(sql: str) -> None:
    """``dataos://lakehouse:shop/x/customers`` is what Heimdall would authorize for the
    collection ``shop/x``: such a name is refused before the catalog is asked."""
    asked: list[TableName] = []

    class Anything:
        def table(self, name: TableName) -> Table:
            asked.append(name)
            return Table(name, CUSTOMERS.columns, CUSTOMERS.physical)

        def tables(self) -> list[TableName]:
            return []

    with pytest.raises(Refused, match="does not exist or is not visible"):
        rewrite(sql, Anything(), lambda _: Governance(), may_see=lambda _: True)
    assert asked == []


def test_every_physical_read_is_an_authorized_dataset(db: duckdb.DuckDBPyConnection) -> None:
    result = governed(
        "WITH s AS (SELECT * FROM secret) SELECT (SELECT max(s) FROM s), c.email "
        "FROM customers c WHERE EXISTS (SELECT 1 FROM shop.secret)"
    )
    assert result.tables == (CUSTOMERS.name, SECRET.name)
    assert physical_reads(result) == {CUSTOMERS.physical, SECRET.physical}


def test_explain_does_not_reveal_statistics_of_filtered_rows(
    db: duckdb.DuckDBPyConnection,
) -> None:
    plans = set()
    for bound in (5000, 5000000):
        result = governed(f"EXPLAIN SELECT count(*) FROM customers WHERE salary > {bound}")
        plans.add(outcome(db, result).replace(str(bound), "<bound>"))
    assert len(plans) == 1


def _file_cluster(home: Path) -> EmbeddedCluster:
    folder = home / "data" / "hr"
    folder.mkdir(parents=True)
    (folder / "staff.csv").write_text("id,name\n1,ann\n")
    (folder / "payroll.csv").write_text("id,iban\n1,DE00\n")
    depot = Depot.model_validate(
        {
            "name": "hr",
            "version": "v2alpha",
            "type": "depot",
            "depot": {"type": "FILE", "file": {"path": "data/hr", "format": "csv"}},
        }
    )

    class Resolver:
        def depot(self, name: str) -> Depot:
            if name != "hr":
                raise LookupError(name)
            return depot

        def credentials(self, name: str, acl: str) -> dict[str, str]:
            return {}

    cluster = Cluster.model_validate(
        {
            "name": "m",
            "version": "v1",
            "type": "cluster",
            "cluster": {"type": "minerva", "minerva": {"depots": [{"address": "dataos://hr"}]}},
        }
    )
    return EmbeddedCluster(cluster, Resolver(), home)


def _physical_objects(engine: EmbeddedCluster) -> list[Any]:
    result = engine.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = '__minerva__'"
    )
    try:
        return sorted(row for batch in result.batches(100) for row in batch)
    finally:
        result.close()


def test_a_string_naming_a_physical_table_loads_nothing(tmp_path: Path) -> None:
    engine = _file_cluster(tmp_path)
    try:
        result = rewrite(
            'SELECT \'"__minerva__"."hr.none.payroll"\' AS x',
            engine,
            lambda _: Governance(),
            default_catalog="hr",
            default_schema="none",
        )
        assert result.tables == ()
        engine.execute(result.sql, result.tables).close()
        assert _physical_objects(engine) == []
    finally:
        engine.close()
