"""Writing a flare job's outputs: Iceberg tables, PostgreSQL tables and files.

Columns leave DuckDB with the types Spark would give them: ``sum`` of integers is a BIGINT
(DuckDB's HUGEINT), and unsigned integers, which neither Iceberg nor PostgreSQL know, widen
to the next signed type.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import duckdb
import fsspec  # type: ignore[import-untyped]
import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from pyiceberg.exceptions import ValidationError as IcebergValidationError

from dataos_defs.adapters import duckdb_engine as engine
from dataos_defs.adapters import iceberg, postgres
from dataos_defs.manifest.stacks.flare import Output
from dataos_defs.manifest.udl import Udl
from dataos_defs.stacks.flare.datasets import Location, Sources
from dataos_defs.stacks.flare.model import FlareError

_SPARK_TYPES = {
    "HUGEINT": "BIGINT",
    "UHUGEINT": "DECIMAL(38,0)",
    "UTINYINT": "SMALLINT",
    "USMALLINT": "INTEGER",
    "UINTEGER": "BIGINT",
    "UBIGINT": "DECIMAL(20,0)",
}
_DEFAULT_FORMAT = {"postgres": "jdbc", "lakehouse": "iceberg"}
_ALLOWED = {"postgres": ("jdbc",), "lakehouse": ("iceberg",), "file": ("csv", "parquet", "json")}


def output_location(output: Output, sources: Sources, where: str) -> Location:
    if output.address is None:
        given = ", ".join(output.connector_names)
        raise FlareError(where, f"connector blocks ({given}) are not supported; use dataset")
    acl = Udl.parse(output.dataset).acl if output.dataset else None
    return sources.locate(output.address, where, default_acl=acl or "rw")


def output_format(output: Output, loc: Location, where: str) -> str:
    if loc.kind == "file":
        conn = loc.depot.depot.connection
        fmt = output.format or str(getattr(conn, "format", "parquet"))
    else:
        fmt = output.format or _DEFAULT_FORMAT[loc.kind]
    if fmt not in _ALLOWED[loc.kind]:
        raise FlareError(
            where,
            f"format '{fmt}' does not fit depot '{loc.depot_name}' "
            f"(type {loc.depot.depot.type}); use {' or '.join(_ALLOWED[loc.kind])}",
        )
    return fmt


def output_query(con: duckdb.DuckDBPyConnection, view: str) -> tuple[str, list[tuple[str, str]]]:
    """``SELECT`` of the view with Spark's types, and the resulting columns."""
    items = []
    final = []
    for name, dtype in engine.columns(con, view):
        target = _SPARK_TYPES.get(dtype.upper())
        column = engine.quote(name)
        items.append(f"CAST({column} AS {target}) AS {column}" if target else column)
        final.append((name, target or dtype))
    return f"SELECT {', '.join(items)} FROM {engine.quote(view)}", final


def fetch(con: duckdb.DuckDBPyConnection, query: str, where: str) -> pa.Table:
    try:
        return con.sql(query).to_arrow_table()
    except duckdb.Error as exc:
        raise FlareError(where, f"DuckDB failed computing the output: {exc}") from None


def write_output(
    output: Output, loc: Location, fmt: str, data: pa.Table, sources: Sources, where: str
) -> None:
    mode = output.options.saveMode if output.options else "overwrite"
    if loc.kind == "lakehouse":
        _write_iceberg(output, loc, data, mode, sources, where)
    elif loc.kind == "postgres":
        try:
            postgres.write_table(sources.postgres(loc), loc.collection, loc.dataset, data, mode)
        except psycopg.Error as exc:
            problem = sources.redact(str(exc).strip())
            raise FlareError(where, f"PostgreSQL depot '{loc.depot_name}': {problem}") from None
    else:
        path, _ = sources.file_path(loc)
        write_files(path, fmt, data, mode)


def partition_fields(
    output: Output, columns: Sequence[str], where: str
) -> list[iceberg.PartitionField]:
    options = output.options
    found: list[iceberg.PartitionField] = []
    if options is not None and options.iceberg is not None:
        for spec in options.iceberg.partitionSpec or []:
            parameter = spec.numBuckets if spec.type == "bucket" else spec.width
            name = spec.name or spec.asColumn
            found.append(iceberg.PartitionField(spec.type, spec.column, name, parameter))
    if options is not None:
        found.extend(iceberg.PartitionField("identity", c) for c in options.partitionBy or [])
    known = set(columns)
    for field in found:
        if field.column not in known:
            raise FlareError(
                where,
                f"partition column '{field.column}' is not a column of the output "
                f"(columns: {', '.join(columns)})",
            )
    return found


def _write_iceberg(
    output: Output, loc: Location, data: pa.Table, mode: str, sources: Sources, where: str
) -> None:
    fields = partition_fields(output, data.column_names, where)
    try:
        iceberg.write_table(sources.catalog(loc), loc.collection, loc.dataset, data, mode, fields)
    except (IcebergValidationError, ValueError, TypeError) as exc:
        table = f"{loc.collection}.{loc.dataset}"
        raise FlareError(where, f"cannot write Iceberg table {table}: {exc}") from None


def write_files(path: str, fmt: str, data: pa.Table, mode: str) -> None:
    """Write one part file into the folder ``path``; ``overwrite`` then removes the others.

    A single file ``<path>.<ext>`` (as users drop them) is moved into the folder on append
    and removed on overwrite, so readers see exactly the data written.
    """
    fs, root = fsspec.core.url_to_fs(path)
    ext = "." + fmt
    fs.makedirs(root, exist_ok=True)
    single = root + ext
    if mode == "append" and fs.isfile(single):
        fs.mv(single, f"{root}/part-00000-initial{ext}")
    part = f"{root}/part-{uuid.uuid4().hex}{ext}"
    with fs.open(part, "wb") as handle:
        _write_arrow(handle, fmt, data)
    if mode == "overwrite":
        stale = [p for p in fs.find(root) if p.endswith(ext) and p.rstrip("/") != part]
        for old in stale:
            fs.rm(old)
        if fs.isfile(single):
            fs.rm(single)


def _write_arrow(handle: object, fmt: str, data: pa.Table) -> None:
    if fmt == "parquet":
        pq.write_table(data, handle)
    elif fmt == "csv":
        pacsv.write_csv(data, handle)
    else:
        for row in data.to_pylist():
            handle.write((json.dumps(row, default=str) + "\n").encode())  # type: ignore[attr-defined]
