"""PostgreSQL tables to and from Arrow through ``COPY`` (psycopg 3).

Both directions move CSV through ``COPY``: PostgreSQL produces and consumes it at memory
speed and pyarrow parses and writes it in C, which beats fetching rows as Python tuples by
an order of magnitude. Column types come from the server (reading) or from the Arrow schema
(creating a table), so CSV's lack of types loses nothing.

Reading collects the whole ``COPY`` output first: pyarrow parses an in-memory buffer on all
cores, while a Python file object would feed it one GIL-bound call at a time (measured 2x
slower). Each chunk is copied out at once: psycopg's chunks are views of libpq results, one
per row, and keeping a million of them alive costs more than the copy.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
from psycopg import sql

_CHUNK = 1 << 20

_READ_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}
"""PostgreSQL type oid -> Arrow type; every other type is read as text."""

_NUMERIC = 1700


def conninfo(
    host: str,
    port: int | None,
    database: str | None,
    params: Mapping[str, Any] | None,
    credentials: Mapping[str, str],
) -> str:
    """A libpq connection string; ``host`` may be a socket folder. Never log the result."""
    parts: dict[str, Any] = {"host": host, "dbname": database or "postgres"}
    if port is not None:
        parts["port"] = port
    user = credentials.get("username") or credentials.get("user")
    if user:
        parts["user"] = user
    if credentials.get("password"):
        parts["password"] = credentials["password"]
    parts.update({k: v for k, v in (params or {}).items() if v is not None})
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in parts.items()})


def connect(info: str) -> psycopg.Connection[Any]:
    """An autocommit session in UTC; writes open their own transaction."""
    conn = psycopg.connect(info, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    return conn


def _arrow_type(oid: int, precision: int | None, scale: int | None) -> pa.DataType:
    if oid == _NUMERIC:
        if precision and precision <= 38:
            return pa.decimal128(precision, scale or 0)
        return pa.decimal128(38, 18)
    return _READ_TYPES.get(oid, pa.string())


def read_table(conn: psycopg.Connection[Any], schema: str, table: str) -> pa.Table:
    """The whole table as Arrow, typed from the server's column types."""
    source = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    return read_query(conn, source)


def read_query(conn: psycopg.Connection[Any], query: sql.Composable) -> pa.Table:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(query))
        columns = [
            (d.name, _arrow_type(d.type_code, d.precision, d.scale)) for d in cur.description or []
        ]
        schema = pa.schema(columns)
        copy_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
        payload = io.BytesIO()
        with cur.copy(copy_sql) as copy:
            for chunk in copy:
                payload.write(chunk)
        result = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(payload.getbuffer())),
            read_options=pacsv.ReadOptions(column_names=schema.names, block_size=_CHUNK * 4),
            convert_options=pacsv.ConvertOptions(
                column_types=schema,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
                true_values=["t"],
                false_values=["f"],
            ),
        )
    return result if result.num_rows else schema.empty_table()


def _pg_type(dtype: pa.DataType) -> str:
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_int8(dtype) or pa.types.is_int16(dtype) or pa.types.is_uint8(dtype):
        return "smallint"
    if pa.types.is_int32(dtype) or pa.types.is_uint16(dtype):
        return "integer"
    if pa.types.is_integer(dtype):
        return "bigint" if not pa.types.is_uint64(dtype) else "numeric(20,0)"
    if pa.types.is_float16(dtype) or pa.types.is_float32(dtype):
        return "real"
    if pa.types.is_floating(dtype):
        return "double precision"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "timestamptz" if dtype.tz else "timestamp"
    if pa.types.is_time(dtype):
        return "time"
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return "bytea"
    return "text"


def create_table_sql(schema: str, table: str, arrow_schema: pa.Schema) -> sql.Composed:
    """``CREATE TABLE IF NOT EXISTS`` with PostgreSQL types mapped from the Arrow schema."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_pg_type(f.type)))
        for f in arrow_schema
    )
    return sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), columns
    )


def _csv_chunks(data: pa.Table) -> Iterator[bytes]:
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    for batch in data.to_batches(max_chunksize=65536):
        sink = io.BytesIO()
        pacsv.write_csv(batch, sink, write_options=options)
        yield sink.getvalue()


def write_table(
    conn: psycopg.Connection[Any], schema: str, table: str, data: pa.Table, mode: str
) -> None:
    """Create the table if missing; ``overwrite`` truncates and loads in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(create_table_sql(schema, table, data.schema))
        target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        if mode == "overwrite":
            cur.execute(sql.SQL("TRUNCATE {}").format(target))
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in data.column_names)
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, columns)
        with cur.copy(copy_sql) as copy:
            for chunk in _csv_chunks(data):
                copy.write(chunk)
