"""The embedded Minerva engine: one in-memory DuckDB connection per run.

DuckDB 2.x runs here without extensions (no postgres, httpfs or iceberg scanner), so data
from other systems arrives as Arrow and is registered by name; local files are read by
DuckDB's own readers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

READERS = {"csv": "read_csv_auto", "parquet": "read_parquet", "json": "read_json_auto"}
"""File format -> DuckDB table function reading it."""


NO_DOWNLOADS = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
"""DuckDB must never fetch code at run time (it would, for a cast to INET, say)."""


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory database in UTC (timestamps with time zone print as UTC) that
    loads no extension it was not given."""
    con = duckdb.connect(":memory:", config=dict(NO_DOWNLOADS))
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def quote(name: str) -> str:
    """A DuckDB identifier, quoted (view names come from manifests and may be keywords)."""
    return '"' + name.replace('"', '""') + '"'


def register_arrow(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    """Expose an Arrow table as a view without copying it."""
    con.register(name, data)


def create_file_table(
    con: duckdb.DuckDBPyConnection, name: str, files: list[Path], file_format: str
) -> None:
    """Materialize local files as a table, so later steps read them once."""
    reader = READERS[file_format]
    paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS SELECT * FROM {reader}([{paths}])")


def create_view(con: duckdb.DuckDBPyConnection, name: str, query: str) -> None:
    con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {query}")


def columns(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str]]:
    """``(column, DuckDB type)`` of a view or table, in order."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {quote(name)}").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def query_columns(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[str, str]]:
    rows = con.execute(f"DESCRIBE {query}").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def row_count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    rows = con.execute(f"SELECT count(*) FROM {quote(name)}").fetchall()
    return int(rows[0][0]) if rows else 0


def fetch_arrow(con: duckdb.DuckDBPyConnection, name: str) -> pa.Table:
    return con.sql(f"SELECT * FROM {quote(name)}").to_arrow_table()


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> object:
    """The first value of the first row; the rest is fetched so the connection is free."""
    rows = con.execute(query).fetchall()
    return rows[0][0] if rows and rows[0] else None
