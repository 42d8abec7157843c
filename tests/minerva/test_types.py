"""Type names between DuckDB and Trino, checked against DuckDB's own spelling of generated
(nested) types."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.minerva.types import duckdb_type, trino_type

PRIMITIVES = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "FLOAT": "real",
    "DOUBLE": "double",
    "VARCHAR": "varchar",
    "BLOB": "varbinary",
    "DATE": "date",
    "TIME": "time(6)",
    "TIME_NS": "time(9)",
    "TIMETZ": "time(6) with time zone",
    "TIMESTAMP": "timestamp(6)",
    "TIMESTAMP_S": "timestamp(0)",
    "TIMESTAMP_MS": "timestamp(3)",
    "TIMESTAMP_NS": "timestamp(9)",
    "TIMESTAMPTZ": "timestamp(6) with time zone",
    "INTERVAL": "interval day to second",
    "UUID": "uuid",
    "JSON": "json",
}
WIDER = {
    "HUGEINT": "decimal(38,0)",
    "UBIGINT": "decimal(20,0)",
    "UINTEGER": "bigint",
    "USMALLINT": "integer",
    "UTINYINT": "smallint",
    "ENUM('a', 'b')": "varchar",
    "UNION(a INTEGER, b VARCHAR)": "varchar",
    "BIT": "varchar",
}

CON = duckdb.connect()


def spelled(duckdb_name: str) -> str:
    """DuckDB's own spelling of a type, as ``DESCRIBE`` and cursors report it."""
    return str(CON.execute(f"DESCRIBE SELECT CAST(NULL AS {duckdb_name}) AS c").fetchall()[0][1])


def _plain(name: str) -> bool:
    return name.isidentifier() and name.isascii() and name == name.lower()


field_names = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    st.sampled_from(["select", "Upper", "with space", 'quo"te', "date"]),
)
decimals = st.tuples(st.integers(1, 38), st.integers(0, 38)).filter(lambda ps: ps[1] <= ps[0])
leaves = st.one_of(
    st.sampled_from(sorted(PRIMITIVES.items())),
    decimals.map(lambda ps: (f"DECIMAL({ps[0]},{ps[1]})", f"decimal({ps[0]},{ps[1]})")),
)


def _struct(fields: list[tuple[str, tuple[str, str]]]) -> tuple[str, str]:
    duck = ", ".join('"' + n.replace('"', '""') + '" ' + t[0] for n, t in fields)
    trino = ", ".join(
        (n if _plain(n) else '"' + n.replace('"', '""') + '"') + " " + t[1] for n, t in fields
    )
    return f"STRUCT({duck})", f"row({trino})"


types = st.recursive(
    leaves,
    lambda inner: st.one_of(
        inner.map(lambda t: (f"{t[0]}[]", f"array({t[1]})")),
        st.lists(st.tuples(field_names, inner), min_size=1, max_size=3, unique_by=lambda f: f[0])
        .filter(lambda fs: len({n.lower() for n, _ in fs}) == len(fs))
        .map(_struct),
        st.tuples(leaves, inner).map(
            lambda kv: (f"MAP({kv[0][0]}, {kv[1][0]})", f"map({kv[0][1]}, {kv[1][1]})")
        ),
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(types)
def test_duckdb_spelling_maps_to_the_trino_name(pair: tuple[str, str]) -> None:
    duck, trino = pair
    assert trino_type(spelled(duck)) == trino


@settings(max_examples=200, deadline=None)
@given(types)
def test_trino_names_map_back_to_the_same_duckdb_type(pair: tuple[str, str]) -> None:
    canonical = spelled(pair[0])
    assert spelled(duckdb_type(trino_type(canonical))) == canonical


@pytest.mark.parametrize(("duck", "trino"), sorted(WIDER.items()))
def test_types_trino_lacks_map_to_wider_ones(duck: str, trino: str) -> None:
    assert trino_type(spelled(duck)) == trino


@pytest.mark.parametrize(
    ("trino", "duck"),
    [
        ("varchar(20)", "VARCHAR"),
        ("char(3)", "VARCHAR"),
        ("timestamp", "TIMESTAMP_MS"),
        ("timestamp(3) with time zone", "TIMESTAMP WITH TIME ZONE"),
        ("decimal(38)", "DECIMAL(38,0)"),
        ("row(integer, varchar)", 'STRUCT("field0" INTEGER, "field1" VARCHAR)'),
        ("row(ts timestamp(3) with time zone)", 'STRUCT("ts" TIMESTAMP WITH TIME ZONE)'),
        ("interval year to month", "INTERVAL"),
        ("ipaddress", "VARCHAR"),
        ("unknown", '"NULL"'),
    ],
)
def test_trino_only_spellings(trino: str, duck: str) -> None:
    assert duckdb_type(trino) == duck
    spelled(duck)
