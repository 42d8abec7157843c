"""On a Trino cluster the Gateway's masks and filters are ``policies/trino``'s, exactly.

The matrix of ``test_trino_equivalence.py`` (data policies, users, datasets, columns of every
type family) is asked of both sides: Trino's OPA plugin's way (``batchColumnMasks`` and
``rowFilters`` of the real ``policies/trino`` on regorus) and the Gateway's rewrite for a
Trino cluster (``governed_select(..., "trino")``). Each mask the Gateway writes must be the
very tree the plugin's expression parses to (for the matrix's Trino types and for types a
DuckDB spelling would lose: ``char(3)``, ``varchar(4)``, ``timestamp(3) with time zone``,
``map``, ``array``), and the rows both keep, masked, must be the same when run through the
matrix's emulation of Trino's functions on DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from dataos_defs.gateway.model import Column, Table, TableName
from dataos_defs.gateway.policies import DataPolicies
from dataos_defs.gateway.rewrite import governed_select
from dataos_defs.heimdall.engine import create_engine
from dataos_defs.heimdall.pdp import PolicyDecisionPoint, policy_modules
from dataos_defs.heimdall.policy_data import parse_policies
from dataos_defs.heimdall.trino_data import trino_document
from dataos_defs.minerva.types import duckdb_type
from tests.gateway import test_trino_equivalence as matrix

NARROW_TYPES = {
    **matrix.TYPES,
    "s": "char(3)",
    "region": "varchar(4)",
    "status": "varchar(20)",
    "ts": "timestamp(3)",
    "tz": "timestamp(3) with time zone",
    "dec": "decimal(12, 2)",
    "i": "map(varchar, integer)",
    "flag": "array(varchar)",
}
"""Trino types per matrix column whose DuckDB spelling would lose what the cast needs."""
MATRIX_TYPES = {column: matrix.TYPES[kind] for column, kind in matrix.COLUMNS.items()}
NARROW = {column: NARROW_TYPES.get(column, kind) for column, kind in MATRIX_TYPES.items()}


@pytest.fixture(scope="module")
def pdp() -> PolicyDecisionPoint:
    modules = {**policy_modules(matrix.HEIMDALL_DIR), **policy_modules(matrix.TRINO_DIR)}
    point = PolicyDecisionPoint(create_engine("regorus"), modules=modules, timeout=10.0)
    tags = {d: {c: list(t) for c, t in matrix.COLUMN_TAGS.items()} for d in matrix.DATASETS}
    policies = parse_policies(matrix.MANIFESTS, "equivalence.yaml")
    document = trino_document(
        policies, identities=matrix.IDENTITIES, column_tags=tags, system=False
    )
    point.set_data(document)
    return point


@pytest.fixture(scope="module")
def gateway() -> DataPolicies:
    return DataPolicies(parse_policies(matrix.MANIFESTS, "equivalence.yaml"))


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{name} {kind}" for name, kind in matrix.COLUMNS.items())
    connection.execute(f"CREATE TABLE data (id INTEGER, {columns})")
    marks = ", ".join("?" * (len(matrix.COLUMNS) + 1))
    connection.executemany(f"INSERT INTO data VALUES ({marks})", matrix.ROWS)
    for statement in matrix.TRINO_FUNCTIONS:
        connection.execute(statement)
    connection.execute(
        "CREATE TABLE trino_regexp (pattern VARCHAR, replacement VARCHAR, input VARCHAR, "
        "output VARCHAR)"
    )
    yield connection
    connection.close()


def trino_table(dataset: str, types: dict[str, str]) -> Table:
    """The dataset as a Trino cluster's catalog describes it (Trino types kept)."""
    depot, collection, name = dataset.split(".")
    columns = tuple(
        Column(column, duckdb_type(kind), matrix.COLUMN_TAGS.get(column, ()), kind)
        for column, kind in types.items()
    )
    return Table(TableName(depot, collection, name), columns, '"data"')


def plugin_masks(
    pdp: PolicyDecisionPoint, user: str, dataset: str, types: dict[str, str]
) -> dict[str, str]:
    """Column → the mask expression Trino's plugin gets for ``user``."""
    catalog, schema, name = dataset.split(".")
    where = {"catalogName": catalog, "schemaName": schema, "tableName": name}
    resources = [
        {"column": {**where, "columnName": column, "columnType": kind}}
        for column, kind in types.items()
    ]
    asked = matrix.request(user, "GetColumnMask", filterResources=resources)
    answer = pdp.query("data.trino.batchColumnMasks", asked) or []
    columns = list(types)
    return {columns[m["index"]]: m["viewExpression"]["expression"] for m in answer}


def gateway_select(
    gateway: DataPolicies, user: str, dataset: str, types: dict[str, str]
) -> exp.Select:
    table = trino_table(dataset, types)
    governance = gateway.governance(table, (*matrix.IDENTITIES[user], f"users:id:{user}"))
    return governed_select(table, governance, "trino")


@pytest.mark.parametrize("types", [MATRIX_TYPES, NARROW], ids=["matrix-types", "narrow-types"])
@pytest.mark.parametrize("dataset", matrix.DATASETS)
def test_each_mask_is_the_plugins_expression(
    pdp: PolicyDecisionPoint, gateway: DataPolicies, dataset: str, types: dict[str, str]
) -> None:
    for user in matrix.IDENTITIES:
        expected = plugin_masks(pdp, user, dataset, types)
        select = gateway_select(gateway, user, dataset, types)
        for column, item in zip(types, select.expressions, strict=True):
            if column not in expected:
                assert item == exp.column(column, quoted=True), f"{user}: {column} unmasked"
                continue
            plugin = sqlglot.parse_one(expected[column], read="trino")
            assert isinstance(item, exp.Alias) and item.alias == column
            assert item.this == plugin, f"{user} on {dataset}.{column}: {expected[column]}"


def _ours(select: exp.Select, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """The governed SELECT's columns and WHERE as the matrix's emulation runs them."""
    columns = []
    for column, item in zip(matrix.COLUMNS, select.expressions, strict=True):
        kind = matrix.COLUMNS[column]
        if isinstance(item, exp.Alias):
            emulated = matrix.trino_on_duckdb(item.this.sql("trino"), con)
            columns.append(f"CAST(({emulated}) AS {kind})")
        else:
            columns.append(f'"{column}"')
    where = select.args.get("where")
    condition = matrix.trino_on_duckdb(where.this.sql("trino"), con) if where else "TRUE"
    return ", ".join(columns), condition


@pytest.mark.parametrize("dataset", matrix.DATASETS)
def test_the_rows_and_values_are_the_plugins(
    pdp: PolicyDecisionPoint,
    gateway: DataPolicies,
    con: duckdb.DuckDBPyConnection,
    dataset: str,
) -> None:
    for user in matrix.IDENTITIES:
        trino_select, trino_where, random = matrix.trino_side(pdp, user, dataset, con)
        theirs, _ = matrix.results(con, trino_select, trino_where)
        select = gateway_select(gateway, user, dataset, MATRIX_TYPES)
        ours, _ = matrix.results(con, *_ours(select, con))
        assert [r[0] for r in ours] == [r[0] for r in theirs], f"{user}: same rows kept"
        for index, column in enumerate(matrix.COLUMNS, start=1):
            mine: list[Any] = [row[index] for row in ours]
            plugin: list[Any] = [row[index] for row in theirs]
            if column in random:
                mine, plugin = [matrix.shape(v) for v in mine], [matrix.shape(v) for v in plugin]
            assert mine == plugin, f"{user} on {dataset}.{column}"


def test_the_matrix_masks_and_filters_something_for_every_user_with_policies(
    gateway: DataPolicies,
) -> None:
    """Guard against a vacuous comparison: the Trino rewrite masks and filters."""
    alice = gateway_select(gateway, "alice", "lakehouse.retail.customers", MATRIX_TYPES)
    assert any(isinstance(item, exp.Alias) for item in alice.expressions)
    assert alice.args.get("where") is not None
    dave = gateway_select(gateway, "dave", "lakehouse.filters.eq", MATRIX_TYPES)
    assert dave.args.get("where") is None
