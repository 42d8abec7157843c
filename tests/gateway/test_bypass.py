"""The Gateway attacked: every way found to reach raw values, filtered rows, unlisted
datasets, internal tables, files, settings or side effects is refused or yields only
governed data.

The raw datasets live where the embedded engine keeps them (``"__minerva__"."<dataset id>"``)
and decoys sit under the dataset names in DuckDB's default schema. Raw values carry markers
(``raw.example`` e-mails, ``FILTERED`` on the row the filter removes, ``DECOY``,
``TOPSECRET`` in a dataset a query must list to read). Each case declares its outcome
(``bypass_support``): refused, or governed (its rows equal the same query's rows over an
already masked and filtered copy), or, stated with its reason, an engine error.
"""

from __future__ import annotations

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
from dataos_defs.gateway.model import Governance, Refused, Rewritten, Table, TableName
from dataos_defs.gateway.rewrite import rewrite
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.minerva.embedded import EmbeddedCluster
from tests.gateway.bypass_support import (
    CUSTOMERS,
    ROWS,
    SECRET,
    Case,
    check,
    engine_error,
    engine_rows,
    governed,
    oracle_database,
    raw_database,
    refused,
    rewritten,
    sha,
)


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = raw_database(ROWS)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def oracle(db: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = oracle_database(db)
    yield connection
    connection.close()


def cases(*items: object) -> pytest.MarkDecorator:
    """Parametrize ``case`` with ``items`` (cases, or ``pytest.param`` of a case), each test
    id being the case's outcome and SQL."""
    return pytest.mark.parametrize("case", items, ids=str)


def gap(case: Case, reason: str) -> object:
    """A case Trino answers and the Gateway does not yet: expected to fail, until it works."""
    return pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=reason))


NOT_PLAIN = "is not a plain name"


@cases(
    refused(
        'SELECT $a$, \'$a$ AS x, * FROM "__minerva__"."lakehouse.shop.customers" --\'', NOT_PLAIN
    ),
    refused(
        'SELECT $a$ AS k, \'$a$ AS x, * FROM "__minerva__"."lakehouse.shop.secret" --\' '
        "FROM customers",
        NOT_PLAIN,
    ),
    refused(
        'SELECT id AS $a$, \'$a$ AS q, * FROM "__minerva__"."lakehouse.shop.secret" --\' '
        "FROM customers",
        NOT_PLAIN,
    ),
    refused("SELECT $$x$$", NOT_PLAIN),
    refused("SELECT $1 FROM customers", NOT_PLAIN),
    refused("SELECT a$b FROM customers", NOT_PLAIN),
    refused("SELECT INTERVAL '1' $a$", "is not accepted"),
    refused("SELECT EXTRACT($a$ FROM DATE '2020-01-01')", "is not accepted"),
    refused("SELECT CAST(ROW(1) AS ROW($a$ INTEGER))", NOT_PLAIN),
    refused("SELECT * FROM customers AS $a$", NOT_PLAIN),
    refused("SELECT cu\u017ftomers.id FROM customers AS cu\u017ftomers", NOT_PLAIN),  # a long s
)
def test_words_the_engine_would_read_as_quotes_are_refused(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    """DuckDB reads ``$a$ ... $a$`` as a string: an identifier ``$a$`` and a literal holding
    ``$a$`` turned the literal's text into code, reading raw tables unlisted. Trino's names
    hold no ``$`` either."""
    check(case, db, oracle)


@cases(
    governed('SELECT c."$a$" FROM (SELECT email AS "$a$" FROM customers) AS c'),
    governed('SELECT 1 AS "x"" FROM secret --"'),
    governed("SELECT email, 'it''s' AS \"a b\" FROM customers"),
)
def test_quoted_names_are_only_names(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)
    check_lexed(rewritten(case.sql).sql, "duckdb")


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


@cases(
    refused("SELECT CAST(email AS INET) FROM customers", "the type 'INET'"),
    refused("SELECT TRY_CAST('1' AS ipaddress)", "the type 'IPADDRESS'"),
    refused("SELECT CAST(x AS hyperloglog) FROM customers", "the type 'HYPERLOGLOG'"),
    refused("SELECT CAST(id AS tdigest) FROM customers", "the type 'TDIGEST'"),
)
def test_types_the_engine_would_install_an_extension_for_are_refused(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    """DuckDB downloads and loads the ``inet`` extension for ``CAST(... AS INET)``."""
    check(case, db, oracle)


TRINO_JSON_STRINGS = [(f'"{sha("ann@raw.example")}"',), (f'"{sha("cy@raw.example")}"',)]


@cases(
    governed(
        "SELECT CAST(id AS integer), CAST(id AS decimal(10,2)), CAST(id AS varchar(3)) "
        "FROM customers"
    ),
    governed(
        "SELECT CAST(ARRAY[id] AS array(bigint)), CAST(ROW(id) AS row(a bigint)) FROM customers"
    ),
    governed(
        "SELECT CAST(CAST(ROW(email, name) AS ROW(e VARCHAR, n VARCHAR)) AS JSON) FROM customers"
    ),
    governed("SELECT CAST(TIMESTAMP '2024-01-01 00:00:00' AS timestamp(3) with time zone)"),
    governed("SELECT CAST('1' AS interval day to second) IS NULL"),
    governed("SELECT CAST(email AS json) FROM customers", rows=TRINO_JSON_STRINGS),
    governed("SELECT try_cast(email AS json) FROM customers", rows=TRINO_JSON_STRINGS),
)
def test_standard_types_are_accepted(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


@cases(
    refused("SELECT element_at(ARRAY[1])", "cannot be written for the engine"),
    refused("SELECT DATETIME(1)", "cannot be written for the engine"),
    refused("SELECT VAR_MAP(1)", "cannot parse the statement"),
    refused("SELECT INITCAP()", "cannot be written for the engine"),
    refused(
        "SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> s)",
        "cannot be written for the engine",
    ),
    refused("SELECT " + "(" * 3000 + "1" + ")" * 3000, "cannot parse the statement"),
)
def test_what_sqlglot_cannot_handle_is_refused_not_a_crash(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


NOT_VISIBLE = "does not exist or is not visible"
NOT_ALLOWED = "is not allowed"


@cases(
    refused('SELECT * FROM "__minerva__"."lakehouse.shop.customers"', NOT_VISIBLE),
    refused('SELECT * FROM __minerva__."lakehouse.shop.secret"', NOT_VISIBLE),
    refused('SELECT * FROM lakehouse."__minerva__"."lakehouse.shop.customers"', NOT_VISIBLE),
    refused("SELECT * FROM 'customers.csv'", NOT_VISIBLE),
    refused("FROM customers SELECT email", "FROM statements are not accepted"),
    refused("SUMMARIZE customers", "SUMMARIZE statements are not accepted"),
    refused("SELECT * FROM customers PIVOT (count(*) FOR region IN ('EU'))", "not supported"),
    refused("SELECT * FROM customers c POSITIONAL JOIN secret s"),
    refused("SELECT * FROM customers USING SAMPLE 10", "not supported"),
    refused("SELECT email FROM customers QUALIFY true"),
    refused("TABLE customers", "TABLE statements are not accepted"),
    refused("SELECT * FROM glob('*')"),
    refused("SELECT * FROM query_table('customers')", NOT_ALLOWED),
    refused("SELECT query('SELECT 1')", NOT_ALLOWED),
    refused("SELECT getvariable('x')", NOT_ALLOWED),
    refused("SELECT which_secret('s3://x', 's3')", NOT_ALLOWED),
    refused("SELECT json_serialize_plan('SELECT * FROM customers')", NOT_ALLOWED),
    refused("SELECT pg_get_viewdef('x')", NOT_ALLOWED),
    refused("SELECT write_log('x')", NOT_ALLOWED),
    refused("SELECT stats(salary) FROM customers", NOT_ALLOWED),
    refused("SELECT current_query()", NOT_ALLOWED),
    refused("SELECT setseed(0.5)", NOT_ALLOWED),
    refused("SELECT sleep_ms(1000)", NOT_ALLOWED),
    refused("SELECT error(email) FROM customers", NOT_ALLOWED),
    refused("SELECT list_transform([1], x -> 1)", NOT_ALLOWED),
    refused("WITH x AS (SELECT 1) INSERT INTO customers SELECT * FROM x", "INSERT statements"),
    refused("EXPLAIN /**/ ANALYZE SELECT 1", "ANALYZE statements"),
    refused("EXPLAIN EXPLAIN SELECT 1", "EXPLAIN statements"),
    refused('SHOW COLUMNS FROM "__minerva__"."lakehouse.shop.secret"', NOT_VISIBLE),
    refused("DESCRIBE secret", NOT_VISIBLE),
    refused('SHOW TABLES FROM "__minerva__"', NOT_VISIBLE),
)
def test_engine_internals_files_and_settings_are_refused(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


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
                sql = rewritten(f"SELECT {name}({arguments})").sql
            except Refused:
                continue
            reached |= {call.lower() for call in re.findall(r"(\w+)\s*\(", sql)}
    assert len(reached) > 150
    assert sorted(call for call in reached if ENGINE_REACHING.fullmatch(call)) == []


@cases(
    governed("SELECT * EXCLUDE (id) FROM customers"),
    governed("SELECT * REPLACE (name AS email) FROM customers"),
    governed("SELECT * RENAME (email AS e) FROM customers"),
    governed("SELECT COLUMNS(*) FROM customers"),
    governed("SELECT region, max(email) FROM customers GROUP BY ALL"),
    governed("SELECT * FROM customers UNION BY NAME SELECT * FROM customers"),
    governed("SELECT customers FROM customers"),
    governed("SELECT CAST(c AS VARCHAR) FROM customers c"),
    governed("SELECT json_format(CAST(MAP(ARRAY['e'], ARRAY[email]) AS JSON)) FROM customers"),
    governed("SELECT * FROM customers c, LATERAL (SELECT c.email, c.name) l"),
    governed(
        "SELECT * FROM customers c WHERE c.id IN (SELECT id FROM customers x "
        "WHERE x.email = c.email)"
    ),
    governed(
        "SELECT max(email) OVER (ORDER BY salary ROWS BETWEEN UNBOUNDED PRECEDING "
        "AND UNBOUNDED FOLLOWING) FROM customers"
    ),
    governed("SELECT id FROM customers ORDER BY salary DESC, email LIMIT 1"),
    governed("SELECT * FROM customers ASOF JOIN customers d ON customers.id >= d.id"),
    governed("SELECT * FROM customers c SEMI JOIN customers d ON c.email = d.email"),
    governed('SELECT "__minerva__".id FROM customers AS "__minerva__"'),
    governed('WITH "__minerva__" AS (SELECT 1 AS x) SELECT * FROM customers'),
    governed("WITH customers AS (SELECT * FROM customers) SELECT * FROM customers"),
    governed("SELECT * FROM (VALUES (1)) AS customers, shop.customers"),
    governed("SELECT * FROM customers WHERE email = 'ann@raw.example' OR region = 'US'"),
    governed("SELECT count(*) FILTER (WHERE region = 'US') FROM customers"),
    governed("SELECT id FROM customers WHERE CAST(IF(region <> 'EU', name, '1') AS INTEGER) = 1"),
    governed("SELECT CAST(localtimestamp AS DATE) = current_date"),
)
def test_duckdb_syntax_and_tricks_read_only_governed_data(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


@cases(
    governed("SELECT array_agg(email ORDER BY id) FROM customers"),
    governed("SELECT approx_distinct(email), count_if(email LIKE '%raw%') FROM customers"),
    governed("SELECT regexp_extract(email, '^(.)', 1), split_part(email, '@', 2) FROM customers"),
    governed("SELECT format('%s', email), length(email), typeof(email) FROM customers"),
    governed("SELECT t.e FROM customers CROSS JOIN UNNEST(ARRAY[email]) AS t(e)"),
    governed("SELECT listagg(email, ',') WITHIN GROUP (ORDER BY id) FROM customers"),
    governed("SELECT min_by(email, salary), max_by(name, salary) FROM customers"),
    governed("SELECT to_hex(sha256(to_utf8(email))) FROM customers"),
    governed("SELECT try(CAST(email AS integer)) FROM customers"),
    gap(
        governed(
            "SELECT map_agg(id, email) FROM customers",
            rows=[({1: sha("ann@raw.example"), 3: sha("cy@raw.example")},)],
        ),
        "refused: function 'map_agg' is not allowed (DuckDB has no map_agg to write it as)",
    ),
    gap(
        governed("SELECT email FROM customers TABLESAMPLE BERNOULLI (100)"),
        "refused: table options (sample) are not supported, though sampling the governed "
        "subquery would read governed rows only",
    ),
)
def test_trino_idioms_over_a_masked_column_read_the_masked_values(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


@cases(
    governed("SELECT id FROM customers WHERE email = 'ann@raw.example'", rows=[]),
    governed(f"SELECT id FROM customers WHERE email = '{sha('ann@raw.example')}'", rows=[(1,)]),
    engine_error(
        "SELECT CAST(email AS INTEGER) FROM customers ORDER BY id",
        message="Could not convert string '[0-9a-f]{64}'",
        reason="a hashed e-mail is no number, on Trino too; the message shows the hash, "
        "never the e-mail",
    ),
)
def test_masks_apply_before_comparisons_and_errors(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


@cases(
    *(
        refused(f"SELECT {written} FROM customers")
        for name in ("user", "current_user", "session_user", "current_role", "current_schema")
        for written in (name, f'"{name}"', f"({name})")
    )
)
def test_session_values_are_not_answered(
    case: Case, db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    check(case, db, oracle)


@pytest.fixture(scope="module")
def wide() -> Iterator[duckdb.DuckDBPyConnection]:
    """20,000 rows: enough for DuckDB to push filters and reorder them."""
    connection = raw_database([])
    connection.execute(
        f"INSERT INTO {CUSTOMERS.physical} SELECT i AS id, "
        "CASE WHEN i < 100 THEN CAST(i AS VARCHAR) ELSE 'FILTERED' || i END AS name, "
        "'e' || i || '@raw.example' AS email, CASE WHEN i < 100 THEN 'EU' ELSE 'US' END "
        "AS region, i AS salary FROM range(20000) AS t(i)"
    )
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def wide_oracle(wide: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = oracle_database(wide)
    yield connection
    connection.close()


@cases(
    *(
        governed(f"SELECT count(*) FROM customers WHERE {predicate}")
        for predicate in (
            "CAST(IF(region <> 'EU', name, '1') AS INTEGER) = 1",
            "CAST(IF(salary >= 100, name, '1') AS INTEGER) = 1",
            "id + 1 > 0 AND CAST(IF(region = 'US', name, '1') AS INTEGER) = 1",
            "abs(CAST(salary AS INTEGER) + 2147483000) > 0",
            "CAST(name AS INTEGER) = 5",
            "name = 5",
            "CAST(name AS INTEGER) IN (5, 7) OR CAST(name AS DOUBLE) < 1",
        )
    )
)
def test_user_predicates_never_see_rows_the_filter_removes(
    case: Case, wide: duckdb.DuckDBPyConnection, wide_oracle: duckdb.DuckDBPyConnection
) -> None:
    """A predicate that fails only on a filtered row would print its raw value if the engine
    evaluated it before the row filter; DuckDB evaluates the policy's filter first."""
    check(case, wide, wide_oracle)


def physical_reads(result: Rewritten) -> set[str]:
    tree = sqlglot.parse_one(result.sql.removeprefix("EXPLAIN "), read="duckdb")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    return {t.sql("duckdb") for t in tree.find_all(exp.Table) if t.name not in ctes}


PLACES = [
    ("SELECT {w}, {s} FROM (SELECT email AS {w} FROM customers) AS t", "governed"),
    ("SELECT id AS {w}, {s} FROM customers", "governed"),
    ("SELECT {w}.email, {s} FROM customers AS {w}", "governed"),
    ("SELECT INTERVAL '1' {w}, {s}", "governed"),
    ("SELECT EXTRACT({w} FROM DATE '2020-01-01'), {s}", "refused"),
    ("SELECT CAST(ROW(1) AS ROW({w} INTEGER)), {s}", "governed"),
    ("SELECT transform(ARRAY[1], {w} -> {s})", "governed"),
    ("WITH {w} AS (SELECT {s} AS x) SELECT * FROM {w}", "governed"),
    ("SELECT count(*) OVER {w}, {s} FROM customers WINDOW {w} AS (ORDER BY id)", "governed"),
]
"""Where a user's word lands verbatim or as a name, followed by a string literal, and what
the Gateway must do when the word is written quoted (a field of EXTRACT is a keyword)."""
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


@given(
    st.sampled_from(PLACES),
    st.sampled_from(OPENERS),
    st.sampled_from(PAYLOADS),
    st.booleans(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_placement_of_a_word_smuggles_code_past_the_analyser(
    db: duckdb.DuckDBPyConnection,
    oracle: duckdb.DuckDBPyConnection,
    place: tuple[str, str],
    opener: str,
    payload: str,
    quoted: bool,
) -> None:
    """Bare, no such word is a Trino name and each is refused; quoted, it is only a name,
    and the query reads what the same query reads over governed data."""
    template, quoted_outcome = place
    sql = template.format(w=f'"{opener}"' if quoted else opener, s=smuggled(opener, payload))
    if not quoted:
        check(refused(sql, "is not a plain name|is not accepted"), db, oracle)
        return
    if quoted_outcome == "refused":
        check(refused(sql, "is not accepted"), db, oracle)
        return
    result = rewritten(sql)
    allowed = {f'"__minerva__"."{name.dataset_id}"' for name in result.tables}
    assert physical_reads(result) <= allowed, (sql, result.sql)
    check(governed(sql), db, oracle)


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

    with pytest.raises(Refused, match=NOT_VISIBLE):
        rewrite(sql, Anything(), lambda _: Governance(), may_see=lambda _: True)
    assert asked == []


def test_every_physical_read_is_an_authorized_dataset(
    db: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection
) -> None:
    sql = (
        "WITH s AS (SELECT * FROM secret) SELECT (SELECT max(s) FROM s), c.email "
        "FROM customers c WHERE EXISTS (SELECT 1 FROM shop.secret)"
    )
    result = rewritten(sql)
    assert result.tables == (CUSTOMERS.name, SECRET.name)
    assert physical_reads(result) == {CUSTOMERS.physical, SECRET.physical}
    check(governed(sql), db, oracle)


def test_explain_does_not_reveal_statistics_of_filtered_rows(
    db: duckdb.DuckDBPyConnection,
) -> None:
    plans = set()
    for bound in (5000, 5000000):
        result = rewritten(f"EXPLAIN SELECT count(*) FROM customers WHERE salary > {bound}")
        plans.add(str(engine_rows(db, result)).replace(str(bound), "<bound>"))
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


def _all_rows(engine: EmbeddedCluster, sql: str, tables: tuple[TableName, ...] = ()) -> list[Any]:
    result = engine.execute(sql, tables)
    try:
        return [row for batch in result.batches(100) for row in batch]
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
        assert _all_rows(engine, result.sql, result.tables) == [
            ('"__minerva__"."hr.none.payroll"',)
        ]
        physical = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '__minerva__'"
        )
        assert _all_rows(engine, physical) == []
    finally:
        engine.close()
