"""The bypass suite's data, its oracle and its one way of checking a case.

Every case declares what the Gateway must do with its SQL:

- ``refused``: the rewrite raises Refused (with a message matching ``message``);
- ``governed``: the query is accepted, runs, and its rows equal the rows of the same query
  run directly over an already masked and filtered copy of the data (the oracle), or the
  rows the case spells out when DuckDB would answer differently from Trino;
- ``engine_error``: accepted, and the engine fails it (``message``) for a ``reason`` the
  case states; the error must hold no raw marker and the same query must fail so over the
  governed copy too. Kept for queries that fail on Trino too.

An engine error on a ``governed`` case fails the test: a query that never works proves
nothing about leaks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
from dataos_defs.manifest.policy_parts import HashMask, Mask, RowFilter
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
CUSTOMER_COLUMNS = "id BIGINT, name VARCHAR, email VARCHAR, region VARCHAR, salary BIGINT"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def rewritten(sql: str) -> Rewritten:
    """``sql`` as the Gateway rewrites it for a user who may list ``customers`` only."""
    return rewrite(
        sql,
        CATALOG,
        lambda table: RULES if table.name == CUSTOMERS.name else Governance(),
        default_catalog="lakehouse",
        default_schema="shop",
        may_see=lambda name: name == CUSTOMERS.name,
    )


def raw_database(customer_rows: Sequence[tuple[Any, ...]]) -> duckdb.DuckDBPyConnection:
    """The raw datasets where the embedded engine keeps them, and decoys under their names."""
    connection = duckdb.connect()
    connection.execute('CREATE SCHEMA "__minerva__"')
    connection.execute(f"CREATE TABLE {CUSTOMERS.physical} ({CUSTOMER_COLUMNS})")
    if customer_rows:
        connection.executemany(
            f"INSERT INTO {CUSTOMERS.physical} VALUES (?, ?, ?, ?, ?)", customer_rows
        )
    connection.execute(f"CREATE TABLE {SECRET.physical} AS SELECT '{SECRET_MARKER}' AS s")
    connection.execute("CREATE TABLE customers AS SELECT 'DECOY' AS email, 'DECOY' AS name")
    return connection


def governed_rows(customer_rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The policy applied by hand: e-mails hashed as the hash mask does, non-EU rows gone."""
    return [
        (id_, name, sha(email), region, salary)
        for id_, name, email, region, salary in customer_rows
        if region == "EU"
    ]


def oracle_database(raw: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The data a governed query may see, as plain tables under the datasets' own names
    (``lakehouse.shop.customers``, default schema ``lakehouse.shop``)."""
    customer_rows = raw.sql(f"SELECT * FROM {CUSTOMERS.physical}").fetchall()
    connection = duckdb.connect()
    connection.execute("ATTACH ':memory:' AS lakehouse")
    connection.execute("CREATE SCHEMA lakehouse.shop")
    connection.execute(f"CREATE TABLE lakehouse.shop.customers ({CUSTOMER_COLUMNS})")
    connection.executemany(
        "INSERT INTO lakehouse.shop.customers VALUES (?, ?, ?, ?, ?)",
        governed_rows(customer_rows),
    )
    connection.execute(f"CREATE TABLE lakehouse.shop.secret AS SELECT '{SECRET_MARKER}' AS s")
    connection.execute("USE lakehouse.shop")
    return connection


Outcome = Literal["refused", "governed", "engine_error"]


@dataclass(frozen=True)
class Case:
    """A query and the one outcome the Gateway must give it (see the module docstring)."""

    sql: str
    outcome: Outcome
    message: str = ""
    reason: str = ""
    rows: tuple[tuple[Any, ...], ...] | None = None

    def __str__(self) -> str:
        return f"{self.outcome}: {self.sql}"


def refused(sql: str, message: str = "") -> Case:
    return Case(sql, "refused", message=message)


def governed(sql: str, rows: Sequence[tuple[Any, ...]] | None = None) -> Case:
    """Accepted with the oracle's rows, or with ``rows`` (Trino's answer) when given."""
    return Case(sql, "governed", rows=None if rows is None else tuple(rows))


def engine_error(sql: str, message: str, reason: str) -> Case:
    """Accepted, then failed by the engine with ``message``, as the same query fails over
    governed data: for queries that fail on Trino too, never for a Gateway shortcoming."""
    if not reason:
        raise ValueError("an engine error must say why it is the right answer")
    return Case(sql, "engine_error", message=message, reason=reason)


def leaked(text: str, result: Rewritten) -> list[str]:
    """The raw markers in ``text`` the query had no right to see."""
    markers = list(RAW_MARKERS)
    if SECRET.name not in result.tables:
        markers.append(SECRET_MARKER)
    return [marker for marker in markers if marker in text]


def in_order(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in a fixed order (values may be dicts, lists or None, so by their repr)."""
    return sorted(rows, key=repr)


def oracle_rows(oracle: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """The same query run directly (no Gateway) over the already governed copy."""
    try:
        return oracle.sql(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
    except (duckdb.Error, sqlglot.errors.SqlglotError) as error:
        pytest.fail(f"the oracle cannot answer {sql!r} ({error}): give the case its rows")


def engine_rows(raw: duckdb.DuckDBPyConnection, result: Rewritten) -> list[tuple[Any, ...]]:
    try:
        return raw.sql(result.sql).fetchall()
    except duckdb.Error as error:
        pytest.fail(f"accepted, then the engine failed: {error}\nsent: {result.sql}")


def check(case: Case, raw: duckdb.DuckDBPyConnection, oracle: duckdb.DuckDBPyConnection) -> None:
    """Assert the case's declared outcome, exactly."""
    if case.outcome == "refused":
        with pytest.raises(Refused, match=case.message or None):
            rewritten(case.sql)
        return
    result = rewritten(case.sql)
    if case.outcome == "engine_error":
        with pytest.raises(duckdb.Error, match=case.message) as error:
            raw.sql(result.sql).fetchall()
        assert not leaked(str(error.value), result), (case.sql, str(error.value))
        with pytest.raises(duckdb.Error, match=case.message):
            oracle.sql(sqlglot.transpile(case.sql, read="trino", write="duckdb")[0]).fetchall()
        return
    seen = engine_rows(raw, result)
    assert not leaked(str(seen), result), (case.sql, result.sql, seen)
    expected = list(case.rows) if case.rows is not None else oracle_rows(oracle, case.sql)
    assert in_order(seen) == in_order(expected), (case.sql, result.sql)
